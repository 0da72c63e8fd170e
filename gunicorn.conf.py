"""
How production serves the portal: `gunicorn` (pinned in requirements.txt) reads this file
from the working directory, so `.venv/bin/gunicorn` with no arguments is the whole command.
`make bench` (tests/bench_pages.py) starts the same file, so what it measures is what runs.

Every value a deployment may need to change comes from the environment, like portal/settings.py:

    GUNICORN_BIND             address to listen on (127.0.0.1:8000: behind a reverse proxy on the same host)
    GUNICORN_WORKERS          worker processes (3)
    GUNICORN_TIMEOUT          seconds a request may take before its worker is replaced (30)
    GUNICORN_MAX_REQUESTS     requests a worker serves before it is replaced, 0 for never (1000)
    GUNICORN_ACCESS_LOG       where to write the access log, "-" for stdout (none)

https://docs.gunicorn.org/en/stable/settings.html
"""

from __future__ import annotations

import os

from gunicorn.http import wsgi as _gunicorn_wsgi


def _int(name: str, default: int) -> int:
    """A whole number from the environment; a typo stops the server at start, not in production traffic."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# The Django application (portal/wsgi.py), named here so the command needs no argument.
wsgi_app = "portal.wsgi:application"

# Loopback by default: the reverse proxy (nginx, a load balancer) terminates TLS and talks to
# us on the same host; it sets X-Forwarded-Proto, which settings.SECURE_PROXY_SSL_HEADER reads.
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]

# Sync workers: every view is plain blocking Django, and a sync worker holds one request at a
# time, so a slow request cannot starve others inside the same process. Three suits two cores
# (gunicorn suggests 2 x cores + 1; PostgreSQL shares the machine). More cores: raise it.
workers = _int("GUNICORN_WORKERS", 3)
worker_class = "sync"

# Load Django once in the master, then fork: the workers share the imported code's memory,
# start faster, and a broken setting stops the server at start instead of in each worker.
# Safe because nothing opens a database connection at import time (each worker opens its own).
preload_app = True

# A request that takes longer than this is a bug or an attack, not a page: the worker is
# killed and replaced. The grace period lets in-flight requests finish on a restart or deploy.
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = 30

# Replace each worker after this many requests, as insurance against slow memory growth in
# any library. The jitter spreads the restarts so the workers never all restart at once.
# The benchmark sets 0 so that growth shows in its memory check instead of being hidden.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = max_requests // 10

# The heartbeat file each worker touches: in memory, so a slow disk cannot make the master
# think a busy worker hung (gunicorn's advice for containers and VMs).
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# No access log by default: the reverse proxy already writes one, and a second copy of every
# line costs each request a write. Errors and worker restarts still go to stderr.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"

# No `Server` header: it tells a scanner which server to look up exploits for and tells a
# resident nothing. Gunicorn 27 has no setting for it: `Response.default_headers` (gunicorn/http/
# wsgi.py) always writes `Server: gunicorn`. We wrap that method and drop the line, so whatever
# name or version a later gunicorn writes is dropped too; if the method is ever renamed, the
# server stops at start (AttributeError) instead of quietly sending the banner again, and
# tests/test_serving.py reads the raw answer of a real gunicorn started from this file. Set here,
# in the master before it forks, so every worker inherits it. HTTP/1.1 only: this file enables
# neither TLS nor HTTP/2, whose answers are written elsewhere (gunicorn/http2/response.py).
_default_headers = _gunicorn_wsgi.Response.default_headers


def _default_headers_without_server(self: _gunicorn_wsgi.Response) -> list[str]:
    return [line for line in _default_headers(self) if not line.lower().startswith("server:")]


_gunicorn_wsgi.Response.default_headers = _default_headers_without_server

# Gunicorn 25+ opens a control socket in $HOME (or $XDG_RUNTIME_DIR) for `gunicornc`. We stop
# and reload with signals (systemd), and one fixed path per user would be shared by every
# instance on the machine (the benchmark's and production's), so it stays off.
control_socket_disable = True
