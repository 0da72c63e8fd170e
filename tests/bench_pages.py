"""
Measure every public page against the floor, over real HTTP, at two data sizes (`make bench`).

    .venv/bin/python tests/bench_pages.py [--small 1000] [--large 100000] [--seconds 2]
        [--floor-seconds 1] [--only REGEX] [--cache off|on|both] [--keep] [--check]

What it does, on loopback only, in one run (issue 9, "Performance and scale"):

1. PostgreSQL (DATABASE_URL, or postgres://postgres@127.0.0.1:5432; started with
   pg_ctlcluster when it is not running): two throwaway databases, portal_bench_small and
   portal_bench_large, migrated and seeded with `manage.py seed_bulk --requests N` (about 300
   agencies, 2,000 technologies and 20,000 uses at both sizes, so only the history grows),
   then VACUUM ANALYZE, as a database that has been running a while has its statistics.
   `--keep` keeps them afterwards and reuses them when they were seeded the same way.
2. gunicorn with the checked-in gunicorn.conf.py and the production profile (DEBUG off,
   static files from the manifest), the floor view on (PORTAL_BENCHMARK), the API's rate far
   above what the benchmark sends, and workers never recycled (GUNICORN_MAX_REQUESTS=0), so
   that memory growth shows instead of being hidden by a restart.
3. For each size, with the anonymous page cache off (PORTAL_PAGE_CACHE_SECONDS=0) and then on
   (300 s, in Redis: REDIS_URL, default redis://127.0.0.1:6379/15, a database number this
   benchmark flushes): a warm-up that fetches every page from every worker, then for each
   page `wrk -t2 -c16` on the page between two measurements of the floor, a minimal Django
   view (portal/bench.py) through the whole middleware stack; a page's share is its requests
   per second over the mean of the floors on either side, so a machine that slows down during
   the run slows both.
4. A table per cache setting (requests/s, share of the floor, p50/p95/p99 latency, the
   small/large ratio, PASS or FAIL against each target), worker memory (RSS from /proc at the
   start and the end of each run), written to docs/performance.md with the machine described,
   and every figure to docs/performance.json.

The exit status is non-zero when a target fails only with `--check`; by default it reports.
Not collected by pytest (the name does not start with test_). Needs wrk (`make bench`
installs Debian's) and, for the cached run, a Redis server.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import html.parser
import http.client
import importlib.metadata
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
DATABASES = {"small": "portal_bench_small", "large": "portal_bench_large"}
# The reference data is the same at both sizes: only the city's history grows (issue 9).
SEED_REFERENCE = ["--agencies", "300", "--technologies", "2000", "--uses", "20000", "--seed", "1"]
WORKERS = 3
THREADS = 2
CONNECTIONS = 16
# Deep enough into the API's cursor pages that a page costing more the deeper it is would show.
API_DEEP_HOPS = 20

# The targets of issue 9, judged at the large size. Share: a page's requests/s over the floor's.
TARGET_SHARE_CACHE_OFF = {"html": 0.25, "api-list": 0.35}
TARGET_SHARE_CACHE_ON = 0.80  # every anonymous page, whatever its kind
MAX_SLOWDOWN = 1.2  # share at the small size over share at the large size
MAX_MEMORY_GROWTH = 0.20  # each worker's RSS, end of a run over its start

# wrk's own summary as one JSON line; `response` counts what is not 2xx, which wrk does not
# (it counts only 4xx and 5xx, and only as "status errors").
WRK_SCRIPT = r"""
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  non2xx = 0
  first_bad = 0
end
function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == 0 then first_bad = status end
  end
end
function done(summary, latency, requests)
  local bad, first = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("non2xx")
    local f = t:get("first_bad")
    if first == 0 and f ~= 0 then first = f end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "non2xx": %d, "first_bad_status": %d, ' ..
    '"socket_errors": %d, "timeouts": %d, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p95": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes, bad, first,
    e.connect + e.read + e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
"""


class BenchError(Exception):
    """Something the benchmark needs is missing or broke; the message says what."""


def log(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------------------
# The probe: runs inside Django, against one benchmark database
# ---------------------------------------------------------------------------


def probe() -> dict[str, Any]:
    """
    What the pages are measured on: the largest agency and technology (most uses), the
    ordinance with most requests, the public request with the longest timeline, a decided
    request, and the commonest (status, agency, year) of public requests for the filtered
    lists; and the rows each table holds, for the report. Run as `bench_pages.py --probe`
    with the server's environment, so it reads exactly the database the server does.
    """
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.db.models import Count
    from django.db.models.functions import ExtractYear

    from ordinances.models import Agency, Event, Ordinance, Request, Technology, TechnologyUse

    public = Request.objects.public()
    # Rows as dicts: the counts are annotations, which the models do not declare.
    agency = Agency.objects.annotate(n=Count("uses")).order_by("-n", "pk").values("slug", "kind", "n").first()
    technology = (
        Technology.objects.annotate(n=Count("uses"))
        .order_by("-n", "pk")
        .values("slug", "name", "category", "n")
        .first()
    )
    ordinance = (
        Ordinance.objects.annotate(n=Count("requests")).order_by("-n", "pk").values("slug", "n").first()
    )
    longest = public.annotate(n=Count("events")).order_by("-n", "pk").values("reference", "n").first()
    decided = public.filter(decision__isnull=False).order_by("-pk").first()
    common = (
        public.exclude(submitted_at=None)
        .annotate(year=ExtractYear("submitted_at"))
        .values("status", "agency__slug", "year")
        .annotate(n=Count("pk"))
        .order_by("-n", "status", "agency__slug", "year")
        .first()
    )
    if agency is None or technology is None or ordinance is None or longest is None:
        raise BenchError("The benchmark database holds no agency, technology, ordinance or public request.")
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    database = settings.DATABASES["default"]
    return {
        "agency": {"slug": agency["slug"], "kind": agency["kind"], "uses": agency["n"]},
        "technology": {
            "slug": technology["slug"],
            "name": technology["name"],
            "category": technology["category"],
            "uses": technology["n"],
        },
        "ordinance": {"slug": ordinance["slug"], "requests": ordinance["n"]},
        "request": {"reference": longest["reference"], "events": longest["n"]},
        "decided_request": decided.reference if decided else None,
        "filter": (
            {
                "status": common["status"],
                "agency": common["agency__slug"],
                "year": common["year"],
                "rows": common["n"],
            }
            if common
            else None
        ),
        "counts": {
            "agencies": Agency.objects.count(),
            "technologies": Technology.objects.count(),
            "uses": TechnologyUse.objects.count(),
            "requests": Request.objects.count(),
            "public requests": public.count(),
            "events": Event.objects.count(),
        },
        "postgresql": server_version,
        "conn_max_age": database.get("CONN_MAX_AGE"),
        "pool": bool((database.get("OPTIONS") or {}).get("pool")),
        # psycopg prepares a query after this many runs on a connection; None: never.
        "prepare_threshold": (database.get("OPTIONS") or {}).get("prepare_threshold"),
        "cache": settings.CACHES["default"]["BACKEND"],
        "page_cache_seconds": getattr(settings, "PORTAL_PAGE_CACHE_SECONDS", None),
    }


# ---------------------------------------------------------------------------
# PostgreSQL, Redis and the environment
# ---------------------------------------------------------------------------


@dataclass
class Postgres:
    """The server the benchmark databases live on, and how to reach each of them."""

    admin: dict[str, Any]
    url_template: str  # with {name} for the database

    @classmethod
    def from_environment(cls) -> Postgres:
        import dj_database_url

        url = os.environ.get("DATABASE_URL", "") or DEFAULT_DATABASE_URL
        if not url.startswith(("postgres://", "postgresql://")):
            raise BenchError(
                f"The benchmark runs on PostgreSQL; DATABASE_URL={url!r} is not a postgres:// URL."
            )
        config = dj_database_url.parse(url)
        admin = {
            "host": config.get("HOST") or "127.0.0.1",
            "port": config.get("PORT") or 5432,
            "user": config.get("USER") or "postgres",
            "password": config.get("PASSWORD") or None,
            "dbname": "postgres",
        }
        parts = urllib.parse.urlsplit(url)
        return cls(
            admin=admin, url_template=urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/{name}", "", ""))
        )

    def connect(self, dbname: str = "postgres") -> Any:
        import psycopg

        return psycopg.connect(**{**self.admin, "dbname": dbname}, autocommit=True, connect_timeout=5)

    def ensure_running(self) -> None:
        """Reach the server; start the local cluster once if it is down (a fresh machine)."""
        try:
            self.connect().close()
            return
        except Exception as first:
            if not shutil.which("pg_ctlcluster") or self.admin["host"] not in {"127.0.0.1", "localhost"}:
                raise BenchError(f"PostgreSQL is not reachable at {self.admin['host']}: {first}") from first
        listing = subprocess.run(
            ["pg_lsclusters", "--no-header"], capture_output=True, text=True
        ).stdout.split()
        version, cluster = (listing[0], listing[1]) if len(listing) >= 2 else ("15", "main")
        log(f"Starting PostgreSQL {version}/{cluster}")
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "start"], check=True)
        for _ in range(30):
            try:
                self.connect().close()
                return
            except Exception:
                time.sleep(1)
        raise BenchError("PostgreSQL did not come up within 30 s of pg_ctlcluster start.")

    def url(self, name: str) -> str:
        return self.url_template.format(name=name)

    def comment(self, name: str) -> str | None:
        """The seed recorded on a database by an earlier run, or None when it does not exist."""
        with self.connect() as conn:
            row = conn.execute(
                "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = %s",
                [name],
            ).fetchone()
        return None if row is None else row[0]

    def recreate(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')

    def drop(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def set_comment(self, name: str, text: str) -> None:
        from psycopg import sql

        with self.connect() as conn:
            conn.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(text))
            )

    def vacuum_analyze(self, name: str) -> None:
        with self.connect(name) as conn:
            conn.execute("VACUUM (ANALYZE)")


def redis_flush(url: str) -> str:
    """Empty the benchmark's own Redis database (the number in the URL); return the server version."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.flushdb()
        return str(client.info("server").get("redis_version", "?"))
    except redis.exceptions.ConnectionError as exc:
        raise BenchError(
            f"Redis is not reachable at {url} ({exc}); start it or run with --cache off."
        ) from exc
    finally:
        client.close()


def start_private_redis(scratch: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """
    A Redis server of our own on a free loopback port, holding nothing on disk, for a machine
    where Debian's redis-server is installed but not running (a container without systemd).
    """
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=scratch,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/15"
    for _ in range(50):
        try:
            redis_flush(url)
            return url, process
        except BenchError:
            time.sleep(0.1)
    process.terminate()
    raise BenchError("redis-server did not start within 5 s.")


def profile_env(
    *, database_url: str, cache_seconds: int, redis_url: str | None, scratch: Path
) -> dict[str, str]:
    """
    The production profile for the server, its manage.py commands and the probe. Settings the
    caller's shell may hold for development are dropped, so every run measures the same thing;
    other DATABASE_* variables (connection age, a pool) pass through, to compare them.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PORTAL_", "GUNICORN_"))
        and key not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "bench-" + secrets.token_urlsafe(40),
            # Loopback HTTP, no TLS proxy in front: no redirect to https.
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DATABASE_URL": database_url,
            "PORTAL_BENCHMARK": "1",
            "PORTAL_MEDIA_ROOT": str(scratch / "media"),
            # Far above what 16 connections can send: the throttle still counts every call
            # (its cost is measured) but never answers 429.
            "PORTAL_API_ANON_RATE": "1000000/s",
            "PORTAL_PAGE_CACHE_SECONDS": str(cache_seconds),
            "GUNICORN_WORKERS": str(WORKERS),
            "GUNICORN_MAX_REQUESTS": "0",
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def manage(env: dict[str, str], *args: str) -> str:
    """Run a manage.py command with the benchmark's environment; its output, or BenchError with it."""
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise BenchError(f"manage.py {shlex.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    return done.stdout


def seed_args(requests: int) -> list[str]:
    """The seed command for a size: seed_bulk, or seed_demo (same data at both sizes) until it exists."""
    if (BASE_DIR / "ordinances/management/commands/seed_bulk.py").exists():
        return ["seed_bulk", "--requests", str(requests), *SEED_REFERENCE]
    return ["seed_demo"]


def static_is_current() -> bool:
    """
    Whether collectstatic's manifest is newer than every file it collects from: our static/,
    the USWDS build in node_modules and the installed packages (the venv's stamp). Collecting
    and compressing takes minutes on two cores; the run's budget is better spent measuring.
    """
    manifest = BASE_DIR / "staticfiles/staticfiles.json"
    if not manifest.exists():
        return False
    built = manifest.stat().st_mtime
    sources = [BASE_DIR / "static", BASE_DIR / "node_modules/@uswds/uswds/dist"]
    stamps = [BASE_DIR / "requirements.txt", BASE_DIR / ".venv/.runtime"]
    if any(stamp.exists() and stamp.stat().st_mtime > built for stamp in stamps):
        return False
    for source in sources:
        for root, _dirs, files in os.walk(source):
            for name in files:
                if os.stat(os.path.join(root, name)).st_mtime > built:
                    return False
    return True


def run_probe(env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [PYTHON, str(Path(__file__).resolve()), "--probe"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise BenchError(f"The probe failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(port: int, path: str, timeout: float = 120) -> tuple[int, bytes]:
    """One GET on loopback; (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass
class Server:
    """A gunicorn master started from gunicorn.conf.py, its workers and its log."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @classmethod
    def start(cls, env: dict[str, str], scratch: Path, label: str) -> Server:
        port = free_port()
        log_path = scratch / f"gunicorn-{label}.log"
        env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
        gunicorn = str(Path(PYTHON).with_name("gunicorn"))
        with open(log_path, "wb") as out:
            process = subprocess.Popen(
                [gunicorn, "--config", str(BASE_DIR / "gunicorn.conf.py")],
                cwd=BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = cls(process=process, port=port, log_path=log_path)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BenchError(f"gunicorn exited with {process.returncode}:\n{server.log_tail()}")
            try:
                status, _ = get(port, "/bench/floor/", timeout=5)
                if status == 200 and len(server.workers()) == WORKERS:
                    return server
            except OSError:
                pass
            time.sleep(0.2)
        server.stop()
        raise BenchError(f"gunicorn did not answer /bench/floor/ within 60 s:\n{server.log_tail()}")

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def workers(self) -> list[int]:
        """The master's children, from /proc (gunicorn's workers)."""
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The process name is in parentheses and may hold spaces: read after the last ")".
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == self.process.pid:
                children.append(int(entry.name))
        return sorted(children)

    def memory(self) -> dict[int, int]:
        """Each worker's resident memory in KiB (VmRSS)."""
        sizes = {}
        for pid in self.workers():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes[pid] = int(line.split()[1])
            except OSError:
                continue
        return sizes

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    path: str
    kind: str  # html, api-list, api-detail, feed, csv, frame, floor
    # An HTML page that is a list: the table reports the rows of its table (feeds and API lists
    # always report theirs), since a longer page costs more whatever the history.
    listing: bool = False


FLOOR = Page("floor", "/bench/floor/", "floor")


class PaginationLinks(html.parser.HTMLParser):
    """The links inside a page's pagination nav (`usa-pagination`): href, rel and text."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0  # >0 inside the pagination nav
        self.links: list[dict[str, str]] = []
        self._current: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "nav" and (self.depth or "usa-pagination" in values.get("class", "")):
            self.depth += 1
        elif tag == "a" and self.depth:
            self._current = {"href": values.get("href", ""), "rel": values.get("rel", ""), "text": ""}

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav" and self.depth:
            self.depth -= 1
        elif tag == "a" and self._current is not None:
            self.links.append(self._current)
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current["text"] += data


def deep_link(port: int, list_path: str) -> str | None:
    """
    The deepest page a list links to, read from its HTML as a reader would find it: the link
    marked rel="last", else the numbered link with the highest number, else as far as
    following rel="next" goes in 20 steps. None when the list has one page.
    """
    path, seen = list_path, 0
    while seen < 20:
        status, body = get(port, path)
        if status != 200:
            raise BenchError(f"GET {path} answered {status} while looking for its last page.")
        parser = PaginationLinks()
        parser.feed(body.decode("utf-8", "replace"))
        links = [link for link in parser.links if link["href"]]
        last = [link for link in links if "last" in link["rel"].split()]
        numbered = [(int(link["text"].strip()), link) for link in links if link["text"].strip().isdigit()]
        nexts = [link for link in links if "next" in link["rel"].split()]
        if last:
            target = last[0]["href"]
        elif numbered:
            target = max(numbered, key=lambda pair: pair[0])[1]["href"]
        elif nexts:
            path, seen = urllib.parse.urljoin(path, nexts[0]["href"]), seen + 1
            continue
        else:
            return None if path == list_path else path
        resolved = urllib.parse.urljoin(path, target)
        return None if resolved == list_path else resolved
    return path


def api_deep_link(port: int, list_path: str) -> str | None:
    """The API list's page API_DEEP_HOPS `next` cursors in (or its last, when it has fewer)."""
    path: str | None = list_path
    last = None
    for _ in range(API_DEEP_HOPS):
        assert path is not None
        status, body = get(port, path)
        if status != 200:
            raise BenchError(f"GET {path} answered {status} while following its cursor.")
        following = json.loads(body).get("next")
        if not following:
            break
        parts = urllib.parse.urlsplit(following)
        path = last = urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))
    return last


def build_pages(port: int, facts: dict[str, Any]) -> list[Page]:
    """Every page measured, with the rows that make it heaviest at this size."""
    agency, technology = facts["agency"], facts["technology"]
    reference = facts["request"]["reference"]
    decided = facts["decided_request"]
    chosen = facts["filter"] or {
        "status": "submitted",
        "agency": agency["slug"],
        "year": datetime.date.today().year,
    }
    requests_filter = urllib.parse.urlencode(
        {"status": chosen["status"], "agency": chosen["agency"], "year": chosen["year"]}
    )
    pages = [
        # The cheapest public page there is: the site's frame (head, navigation, footer), the
        # freshness of the record and three sentences, no record shown. Every HTML page costs
        # at least this much, so its share is the most any HTML page can reach.
        Page("frame", "/alerts/check-your-inbox/", "frame"),
        Page("home", "/", "html"),
        Page("how-it-works", "/how-it-works/", "html"),
        Page("ordinances", "/ordinances/", "html", listing=True),
        Page("ordinance-detail", f"/ordinances/{facts['ordinance']['slug']}/", "html"),
        Page("agencies", "/agencies/", "html", listing=True),
        Page(
            "agencies-filtered",
            "/agencies/?"
            + urllib.parse.urlencode({"kind": agency["kind"], "technology": technology["slug"]}),
            "html",
            listing=True,
        ),
        Page("agencies-deep", "/agencies/", "html", listing=True),
        Page("agency-detail-largest", f"/agencies/{agency['slug']}/", "html"),
        Page("technologies", "/technologies/", "html", listing=True),
        Page(
            "technologies-filtered",
            "/technologies/?"
            + urllib.parse.urlencode({"category": technology["category"], "agency": agency["slug"]}),
            "html",
            listing=True,
        ),
        Page("technologies-deep", "/technologies/", "html", listing=True),
        Page("technology-detail-largest", f"/technologies/{technology['slug']}/", "html"),
        Page("requests", "/requests/", "html", listing=True),
        Page("requests-filtered", f"/requests/?{requests_filter}", "html", listing=True),
        Page("requests-deep", "/requests/", "html", listing=True),
        Page("request-detail", f"/requests/{reference}/", "html"),
        Page("emergency-use", "/emergency-use/", "html", listing=True),
        Page("violations", "/violations/", "html", listing=True),
        Page("annual-reports", "/annual-reports/", "html", listing=True),
        Page("search", "/search/?" + urllib.parse.urlencode({"q": technology["name"]}), "html"),
        Page("feed-requests", "/requests/feed/", "feed"),
        Page("feed-decisions", "/decisions/feed/", "feed"),
        Page("feed-agency", f"/agencies/{agency['slug']}/feed/", "feed"),
        Page("feed-technology", f"/technologies/{technology['slug']}/feed/", "feed"),
        Page("feed-request", f"/requests/{reference}/feed/", "feed"),
        # Agencies: the same 300 rows at both sizes, so its ratio means something (a download
        # of every request grows with the history by design).
        Page("csv-agencies", "/agencies/download.csv", "csv"),
        Page("api-ordinances", "/api/v1/ordinances/", "api-list"),
        Page("api-agencies", "/api/v1/agencies/", "api-list"),
        Page("api-technologies", "/api/v1/technologies/", "api-list"),
        Page("api-requests", "/api/v1/requests/", "api-list"),
        Page("api-requests-filtered", f"/api/v1/requests/?{requests_filter}", "api-list"),
        Page("api-requests-deep", "/api/v1/requests/", "api-list"),
        Page("api-decisions", "/api/v1/decisions/", "api-list"),
        Page("api-ordinance", f"/api/v1/ordinances/{facts['ordinance']['slug']}/", "api-detail"),
        Page("api-agency-largest", f"/api/v1/agencies/{agency['slug']}/", "api-detail"),
        Page("api-technology-largest", f"/api/v1/technologies/{technology['slug']}/", "api-detail"),
        Page("api-request", f"/api/v1/requests/{reference}/", "api-detail"),
    ]
    if decided:
        pages.append(Page("api-decision", f"/api/v1/decisions/{decided}/", "api-detail"))
    resolved = []
    for page in pages:
        if page.name.endswith("-deep"):
            deep = (
                api_deep_link(port, page.path) if page.kind.startswith("api") else deep_link(port, page.path)
            )
            if deep is None:
                log(f"  {page.name}: {page.path} has one page only; not measured at this size")
                continue
            page = replace(page, path=deep)
        resolved.append(page)
    return resolved


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------


@dataclass
class Measurement:
    path: str
    seconds: int
    requests: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    kbytes_per_response: float
    non2xx: int
    first_bad_status: int
    socket_errors: int
    timeouts: int

    @property
    def failures(self) -> int:
        return self.non2xx + self.socket_errors + self.timeouts


def wrk(port: int, path: str, seconds: int, script: Path) -> Measurement:
    command = [
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        # Slow pages are measured, not cut off: wrk's default (2 s) would count them as errors.
        "--timeout",
        "30s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}{path}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    line = next((line for line in done.stdout.splitlines() if line.startswith("WRK_JSON ")), None)
    if done.returncode or line is None:
        raise BenchError(f"wrk failed on {path}:\n{done.stdout}{done.stderr}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    latency = raw["latency_us"]
    requests = raw["requests"]
    return Measurement(
        path=path,
        seconds=seconds,
        requests=requests,
        rps=requests / (raw["duration_us"] / 1e6) if raw["duration_us"] else 0.0,
        p50_ms=latency["p50"] / 1000,
        p95_ms=latency["p95"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        kbytes_per_response=raw["bytes"] / requests / 1024 if requests else 0.0,
        non2xx=raw["non2xx"],
        first_bad_status=raw["first_bad_status"],
        socket_errors=raw["socket_errors"],
        timeouts=raw["timeouts"],
    )


def drain(server: Server) -> None:
    """
    Wait until the requests wrk left queued are served. wrk stops sending when its time is up,
    but the requests already sent still wait in the listen queue and each takes a worker for
    its full time; without this, a slow page's backlog would be counted against the floor
    measured after it. A floor request, one per worker, twice over, queues behind them all.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for _ in range(2):
            list(pool.map(lambda path: get(server.port, path), [FLOOR.path] * WORKERS))


def rows_shown(page: Page, body: bytes) -> int | None:
    """
    The rows a page shows: a feed's entries, an API list's results, the rows of a listing's
    table body, the rows of every table body of any other HTML page (a record's page shows
    several tables, each as long as the record's history allows up to its limit); None for a
    page with none of these, or a body that is not what its kind says.
    """
    if page.kind == "feed":
        return body.count(b"<entry")
    if page.kind == "api-list":
        try:
            results = json.loads(body).get("results")
        except (ValueError, AttributeError):
            return None
        return len(results) if isinstance(results, list) else None
    if page.kind == "html" and page.listing:
        start, end = body.find(b"<tbody"), body.find(b"</tbody>")
        return body.count(b"<tr", start, end) if 0 <= start < end else 0
    if page.kind == "html":
        bodies = re.findall(rb"<tbody.*?</tbody>", body, re.S)
        return sum(part.count(b"<tr") for part in bodies) if bodies else None
    return None


def warm_up(server: Server, pages: list[Page], script: Path) -> tuple[dict[str, int], dict[str, int | None]]:
    """
    Fetch every page from every worker before measuring (templates compiled, connections
    open, the page cache filled), and note any page that does not answer 2xx, and the rows
    each list shows.
    """
    wrk(server.port, FLOOR.path, 1, script)
    statuses: dict[str, int] = {}
    rows: dict[str, int | None] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS * 2) as pool:
        for page in pages:
            paths = [page.path] * (WORKERS * 2)
            answers = list(pool.map(lambda path: get(server.port, path), paths))
            bad = [status for status, _body in answers if not 200 <= status < 300]
            statuses[page.name] = bad[0] if bad else answers[0][0]
            rows[page.name] = None if bad else rows_shown(page, answers[0][1])
    drain(server)
    return statuses, rows


@dataclass
class Run:
    """One size with one cache setting: each page between two floors, and worker memory."""

    size: str
    requests_seeded: int
    cache: str
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    memory_start: dict[int, int] = field(default_factory=dict)
    memory_end: dict[int, int] = field(default_factory=dict)
    warm_up_status: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int | None] = field(default_factory=dict)
    seconds: float = 0.0


def measure_run(server: Server, run: Run, pages: list[Page], args: argparse.Namespace, script: Path) -> None:
    """
    The floor, then a page, then the floor again before the next page, and so on, ending with
    a floor: each page's share is over the mean of the floors on either side of it, so a
    machine that speeds up or slows down during the run moves the page and its floor together.
    """
    run.warm_up_status, run.rows = warm_up(server, pages, script)
    run.memory_start = server.memory()
    before = wrk(server.port, FLOOR.path, args.floor_seconds, script)
    drain(server)
    for page in pages:
        measured = wrk(server.port, page.path, args.seconds, script)
        drain(server)
        after = wrk(server.port, FLOOR.path, args.floor_seconds, script)
        drain(server)
        floor_rps = (before.rps + after.rps) / 2
        share = measured.rps / floor_rps if floor_rps else 0.0
        run.pages[page.name] = {
            "kind": page.kind,
            "path": page.path,
            "floor": asdict(before),
            "floor_after": asdict(after),
            "floor_rps": floor_rps,
            "page": asdict(measured),
            "share": share,
            "rows": run.rows.get(page.name),
        }
        flag = (
            f"  {measured.failures} failed (first {measured.first_bad_status})" if measured.failures else ""
        )
        log(
            f"    {page.name:<26} {measured.rps:8.1f}/s  floor {before.rps:7.1f}/s, {after.rps:7.1f}/s"
            f"  share {share:6.1%}  p50 {measured.p50_ms:7.1f} ms  p99 {measured.p99_ms:7.1f} ms{flag}"
        )
        before = after
    run.memory_end = server.memory()


# ---------------------------------------------------------------------------
# Judging and reporting
# ---------------------------------------------------------------------------


def share_target(cache: str, kind: str) -> float | None:
    if kind == "floor":
        return None
    if cache == "on":
        return TARGET_SHARE_CACHE_ON
    return TARGET_SHARE_CACHE_OFF.get(kind)


def judge(runs: dict[tuple[str, str], Run], cache: str) -> list[dict[str, Any]]:
    """One row per page for a cache setting: both sizes' figures, the ratio and the verdict."""
    small, large = runs.get(("small", cache)), runs.get(("large", cache))
    names = list(dict.fromkeys([*(large.pages if large else {}), *(small.pages if small else {})]))
    rows = []
    for name in names:
        s = small.pages.get(name) if small else None
        big = large.pages.get(name) if large else None
        kind = (big or s or {})["kind"]
        reasons = []
        target = share_target(cache, kind)
        if big and target is not None and big["share"] < target:
            reasons.append(f"share {big['share']:.0%} < {target:.0%}")
        slowdown = s["share"] / big["share"] if s and big and big["share"] else None
        if slowdown is not None and slowdown > MAX_SLOWDOWN:
            reasons.append(f"{slowdown:.2f}x slower large")
        for label, figures in (("small", s), ("large", big)):
            if not figures:
                continue
            for which in ("floor", "floor_after", "page"):
                m = figures[which]
                failed = m["non2xx"] + m["socket_errors"] + m["timeouts"]
                if failed:
                    what = "" if which == "page" else "floor "
                    reasons.append(
                        f"{label}: {what}{m['non2xx']} non-2xx (first {m['first_bad_status']}), "
                        f"{m['socket_errors']} socket errors, {m['timeouts']} timeouts"
                    )
        rows.append(
            {
                "page": name,
                "kind": kind,
                "small": s,
                "large": big,
                "slowdown": slowdown,
                "target_share": target,
                "verdict": "FAIL" if reasons else "PASS",
                "reasons": reasons,
            }
        )
    return rows


def judge_memory(run: Run) -> tuple[str, list[str]]:
    reasons = []
    if set(run.memory_start) != set(run.memory_end):
        reasons.append(
            f"workers changed during the run: {sorted(run.memory_start)} -> {sorted(run.memory_end)}"
        )
    for pid, start in run.memory_start.items():
        end = run.memory_end.get(pid)
        if end is not None and start and (end - start) / start >= MAX_MEMORY_GROWTH:
            reasons.append(
                f"worker {pid} grew {(end - start) / start:.0%} ({start // 1024} -> {end // 1024} MiB)"
            )
    return ("FAIL" if reasons else "PASS"), reasons


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def latencies(figures: dict[str, Any] | None) -> str:
    if not figures:
        return "-"
    m = figures["page"]
    return f"{m['p50_ms']:.0f}/{m['p95_ms']:.0f}/{m['p99_ms']:.0f}"


def rows_at_both_sizes(small: dict[str, Any] | None, large: dict[str, Any] | None) -> str:
    """The rows a page shows at each size ("6/25"); "-" for a page that shows none (`rows_shown`)."""
    counts = [figures.get("rows") if figures else None for figures in (small, large)]
    if all(count is None for count in counts):
        return "-"
    return "/".join("-" if count is None else str(count) for count in counts)


def table_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    for row in rows:
        s, big = row["small"], row["large"]
        out.append(
            [
                row["page"],
                row["kind"],
                rows_at_both_sizes(s, big),
                f"{s['page']['rps']:.1f}" if s else "-",
                pct(s["share"]) if s else "-",
                latencies(s),
                f"{big['page']['rps']:.1f}" if big else "-",
                pct(big["share"]) if big else "-",
                latencies(big),
                "-" if row["slowdown"] is None else f"{row['slowdown']:.2f}",
                pct(row["target_share"]) if row["target_share"] is not None else "-",
                row["verdict"] + (": " + "; ".join(row["reasons"]) if row["reasons"] else ""),
            ]
        )
    return out


def headers(sizes: dict[str, int]) -> list[str]:
    small, large = f"{sizes['small']:,}", f"{sizes['large']:,}"
    return [
        "page",
        "kind",
        f"rows {small}/{large}",
        f"req/s {small}",
        f"share {small}",
        f"p50/95/99 ms {small}",
        f"req/s {large}",
        f"share {large}",
        f"p50/95/99 ms {large}",
        f"{small}/{large}",
        "target",
        "verdict",
    ]


def print_table(head: list[str], rows: list[list[str]]) -> None:
    widths = [
        max(len(head[i]), *(len(r[i]) for r in rows)) if rows else len(head[i]) for i in range(len(head))
    ]
    widths[-1] = 0  # the verdict column is last and free-form
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip())
    print("  ".join("-" * max(w, len(h)) for h, w in zip(head, widths, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def markdown_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    mhz = re.findall(r"^cpu MHz\s*:\s*([\d.]+)$", cpuinfo, re.M)
    meminfo = Path("/proc/meminfo").read_text()
    total = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.M)
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return {
        "cpu": models[0] if models else platform.processor() or "?",
        "logical_cpus": len(re.findall(r"^processor\s*:", cpuinfo, re.M)),
        "cpu_mhz": float(mhz[0]) if mhz else None,
        "memory_gib": round(int(total.group(1)) / 1024 / 1024, 1) if total else None,
        "kernel": platform.release(),
        "os": platform.freedesktop_os_release().get("PRETTY_NAME", "?")
        if hasattr(platform, "freedesktop_os_release")
        else "?",
        "python": platform.python_version(),
        "django": importlib.metadata.version("Django"),
        "gunicorn": importlib.metadata.version("gunicorn"),
        "psycopg": importlib.metadata.version("psycopg"),
        "wrk": (wrk_version.stdout + wrk_version.stderr).strip().splitlines()[0],
    }


HOW_TO_READ = """\
**How to read it.** Absolute requests per second on a shared machine are noise; shares are
not. The floor is a minimal Django view (`portal/bench.py`, `HttpResponse("ok")`) through the
same middleware stack on the same server, measured for {floor_seconds} s before and after each
page; a page's *share* is its requests per second over the mean of those two floors' (so a
machine that slows down during the run slows both). 25% means the page costs
four floors: the server could answer a quarter as many readers of that page as of a page that
does nothing. *{small}/{large}* is the page's share with {small} requests in the database
over its share with {large}: 1.00 means the page costs the same whatever the city's history,
above {max_slowdown} fails. *rows* is how many rows a page shows at each size (a feed's
entries, an API list's results, the rows of an HTML list's table, or of every table of any
other HTML page): where they differ, the ratio holds the cost of a longer page as well as any
growth with the history.
*frame* is the cheapest public HTML page (`/alerts/check-your-inbox/`: the site's frame, the
record's freshness and three sentences, no record): every HTML page costs at least as much, so
its share is the most an HTML page can reach; it is shown, not judged on share.
p50/p95/p99 are wrk's latency percentiles in milliseconds at
{connections} connections (queueing included: with {workers} sync workers, 16 connections wait
their turn, so latency is roughly connections / requests per second). Targets at {large}
requests: with the page cache off, every HTML page at least {html:.0%} of the floor and every
API list at least {api:.0%} (feeds, CSV and API details are shown, not judged on share); with
it on, every page at least {cached:.0%}; no page more than {max_slowdown}x slower at {large}
than at {small}; zero non-2xx answers (socket errors and timeouts count); each worker's memory
(RSS) grows less than {memory:.0%} from the start of a run (after the warm-up) to its end."""


def write_reports(
    *,
    args: argparse.Namespace,
    argv: list[str],
    sizes: dict[str, int],
    facts: dict[str, dict[str, Any]],
    runs: dict[tuple[str, str], Run],
    tables: dict[str, list[dict[str, Any]]],
    memory: list[dict[str, Any]],
    phases: dict[str, float],
    box: dict[str, Any],
    passed: bool,
) -> None:
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    command = shlex.join([".venv/bin/python", "tests/bench_pages.py", *argv]) if argv else "make bench"
    seed = {size: shlex.join(["manage.py", *seed_args(n)]) for size, n in sizes.items()}
    raw = {
        "date": now.isoformat(),
        "command": command,
        "machine": box,
        "settings": {
            "workers": WORKERS,
            "wrk_threads": THREADS,
            "connections": CONNECTIONS,
            "seconds": args.seconds,
            "floor_seconds": args.floor_seconds,
            "sizes": sizes,
            "seed": seed,
        },
        "data": facts,
        "targets": {
            "share_cache_off": TARGET_SHARE_CACHE_OFF,
            "share_cache_on": TARGET_SHARE_CACHE_ON,
            "max_slowdown": MAX_SLOWDOWN,
            "max_memory_growth": MAX_MEMORY_GROWTH,
        },
        "runs": [asdict(run) for run in runs.values()],
        "verdicts": tables,
        "memory": memory,
        "phases_seconds": phases,
        "passed": passed,
    }
    (BASE_DIR / "docs/performance.json").write_text(json.dumps(raw, indent=1, default=str) + "\n")

    head = headers(sizes)
    parts = [
        "# Performance: every page against the floor",
        "",
        f"Written by `tests/bench_pages.py` on {now:%Y-%m-%d %H:%M} UTC. Raw figures: "
        "[performance.json](performance.json). Re-run after every change that touches a page: "
        f"`{command}`.",
        "",
        f"**Overall: {'PASS' if passed else 'FAIL'}.**",
        "",
        "## Machine and software",
        "",
        f"- CPU: {box['cpu']}, {box['logical_cpus']} logical CPUs"
        + (f" at {box['cpu_mhz']:.0f} MHz" if box["cpu_mhz"] else "")
        + f"; memory {box['memory_gib']} GiB; {box['os']}, Linux {box['kernel']}",
        f"- Python {box['python']}, Django {box['django']}, gunicorn {box['gunicorn']} ({WORKERS} sync workers, "
        f"gunicorn.conf.py), psycopg {box['psycopg']}, PostgreSQL {box.get('postgresql', '?')}, "
        f"Redis {box.get('redis', '-')}, {box['wrk']}",
        f"- Load: `wrk -t{THREADS} -c{CONNECTIONS} -d{args.seconds}s` per page, the floor "
        f"`-d{args.floor_seconds}s` before and after each, on loopback, on the same {box['logical_cpus']} CPUs as the "
        "server and PostgreSQL.",
        "",
        "## Data",
        "",
    ]
    for size, n in sizes.items():
        if size not in facts:
            continue
        f = facts[size]
        counts = ", ".join(f"{v:,} {k}" for k, v in f["counts"].items())
        parts.append(
            f"- {n:,} requests (`{seed[size]}`): {counts}. Largest agency `{f['agency']['slug']}` "
            f"({f['agency']['uses']} uses), largest technology `{f['technology']['slug']}` ({f['technology']['uses']} "
            f"uses), request `{f['request']['reference']}` ({f['request']['events']} events); filtered lists "
            f"`{urllib.parse.urlencode({k: v for k, v in (f['filter'] or {}).items() if k != 'rows'})}` "
            f"({(f['filter'] or {}).get('rows', 0)} requests). Connections: CONN_MAX_AGE={f['conn_max_age']}, "
            f"pool={f['pool']}, prepared statements: "
            + (f"after {f['prepare_threshold']} runs." if f.get("prepare_threshold") else "off.")
        )
    parts += [
        "",
        HOW_TO_READ.format(
            floor_seconds=args.floor_seconds,
            small=f"{sizes['small']:,}",
            large=f"{sizes['large']:,}",
            max_slowdown=MAX_SLOWDOWN,
            connections=CONNECTIONS,
            workers=WORKERS,
            html=TARGET_SHARE_CACHE_OFF["html"],
            api=TARGET_SHARE_CACHE_OFF["api-list"],
            cached=TARGET_SHARE_CACHE_ON,
            memory=MAX_MEMORY_GROWTH,
        ),
        "",
    ]
    for cache, rows in tables.items():
        title = (
            "off (`PORTAL_PAGE_CACHE_SECONDS=0`)"
            if cache == "off"
            else "on (`PORTAL_PAGE_CACHE_SECONDS=300`, Redis)"
        )
        parts += [f"## Page cache {title}", "", markdown_table(head, table_rows(rows)), ""]
    parts += [
        "## Worker memory (RSS, MiB)",
        "",
        "| run | worker | start | end | growth | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for entry in memory:
        for pid, start in entry["start"].items():
            end = entry["end"].get(pid)
            growth = "-" if end is None or not start else f"{(end - start) / start:+.1%}"
            parts.append(
                f"| {entry['run']} | {pid} | {start / 1024:.0f} | {'-' if end is None else f'{end / 1024:.0f}'} "
                f"| {growth} | {entry['verdict']}{': ' + '; '.join(entry['reasons']) if entry['reasons'] else ''} |"
            )
    parts += ["", "## Time taken (s)", ""]
    parts += [f"- {phase}: {seconds:.0f}" for phase, seconds in phases.items()]
    (BASE_DIR / "docs/performance.md").write_text("\n".join(parts) + "\n")


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1000, help="requests in the small database (1000)")
    parser.add_argument("--large", type=int, default=100_000, help="requests in the large database (100000)")
    parser.add_argument("--seconds", type=int, default=2, help="wrk's duration on each page (2)")
    parser.add_argument(
        "--floor-seconds", type=int, default=1, help="wrk's duration on the floor between pages (1)"
    )
    parser.add_argument("--only", help="measure only the pages whose name matches this regular expression")
    parser.add_argument(
        "--cache", choices=("off", "on", "both"), default="both", help="page cache settings to run (both)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the databases and reuse them when seeded the same way"
    )
    parser.add_argument("--check", action="store_true", help="exit non-zero when a target fails")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.probe:
        if not 0 < args.small < args.large:
            parser.error("need 0 < --small < --large")
        if args.seconds < 1 or args.floor_seconds < 1:
            parser.error("need --seconds >= 1 and --floor-seconds >= 1")
        if args.only:
            try:
                re.compile(args.only)
            except re.error as exc:
                parser.error(f"--only is not a regular expression: {exc}")
    return args


def prepare_database(pg: Postgres, name: str, requests: int, env: dict[str, str], keep: bool) -> str:
    """A migrated, seeded, analysed database; reused under --keep when seeded the same way. Says which."""
    seed = shlex.join(seed_args(requests))
    if keep and pg.comment(name) == f"bench: {seed}":
        manage(env, "migrate", "--no-input")
        # A migration that rewrites rows (a backfill) leaves dead rows, a cleared visibility
        # map and stale statistics: index-only counts then read the table, 2-10x slower,
        # until autovacuum comes round, which production would see once, not on every page.
        pg.vacuum_analyze(name)
        return "reused"
    pg.recreate(name)
    manage(env, "migrate", "--no-input")
    manage(env, *seed_args(requests))
    pg.vacuum_analyze(name)
    pg.set_comment(name, f"bench: {seed}")
    return "seeded"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.probe:
        if str(BASE_DIR) not in sys.path:
            sys.path.insert(0, str(BASE_DIR))
        print(json.dumps(probe()))
        return 0
    if not shutil.which("wrk"):
        raise BenchError("wrk is not installed: `make bench` installs Debian's (apt-get install wrk).")
    if "seed_bulk" not in seed_args(1):
        log(
            "NOTE: manage.py seed_bulk does not exist yet; seeding with seed_demo (the same data at both sizes)."
        )

    started = time.monotonic()
    phases: dict[str, float] = {}
    sizes = {"small": args.small, "large": args.large}
    caches = ["off", "on"] if args.cache == "both" else [args.cache]
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    pg = Postgres.from_environment()
    pg.ensure_running()
    box = machine()

    scratch = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    script = scratch / "report.lua"
    script.write_text(WRK_SCRIPT)
    facts: dict[str, dict[str, Any]] = {}
    runs: dict[tuple[str, str], Run] = {}
    private_redis: subprocess.Popen[bytes] | None = None
    try:
        if "on" in caches:
            try:
                box["redis"] = redis_flush(redis_url)
            except BenchError:
                if os.environ.get("REDIS_URL") or not shutil.which("redis-server"):
                    raise
                redis_url, private_redis = start_private_redis(scratch)
                box["redis"] = redis_flush(redis_url)
                log(f"No Redis at {DEFAULT_REDIS_URL}; started one for this run at {redis_url}")
        mark = time.monotonic()
        env = profile_env(
            database_url=pg.url(DATABASES["small"]), cache_seconds=0, redis_url=None, scratch=scratch
        )
        if static_is_current():
            log("Static files: staticfiles/ is newer than its sources; not collected again.")
        else:
            log("Collecting static files into staticfiles/ (the production profile serves the manifest)")
            manage(env, "collectstatic", "--no-input", "--verbosity", "0")
        phases["collectstatic"] = time.monotonic() - mark

        for size, n in sizes.items():
            mark = time.monotonic()
            env = profile_env(
                database_url=pg.url(DATABASES[size]), cache_seconds=0, redis_url=None, scratch=scratch
            )
            how = prepare_database(pg, DATABASES[size], n, env, args.keep)
            facts[size] = run_probe(env)
            phases[f"database {size} ({n:,} requests, {how})"] = time.monotonic() - mark
            log(
                f"{size}: {how} {DATABASES[size]} in {phases[f'database {size} ({n:,} requests, {how})']:.0f} s: "
                + ", ".join(f"{v:,} {k}" for k, v in facts[size]["counts"].items())
            )
        box["postgresql"] = facts["small"]["postgresql"]

        pages_by_size: dict[str, list[Page]] = {}
        for cache in caches:
            for size, n in sizes.items():
                mark = time.monotonic()
                if cache == "on":
                    redis_flush(redis_url)
                env = profile_env(
                    database_url=pg.url(DATABASES[size]),
                    cache_seconds=300 if cache == "on" else 0,
                    redis_url=redis_url if cache == "on" else None,
                    scratch=scratch,
                )
                server = Server.start(env, scratch, f"{size}-{cache}")
                try:
                    if size not in pages_by_size:
                        pages = build_pages(server.port, facts[size])
                        if args.only:
                            pages = [page for page in pages if re.search(args.only, page.name)]
                        pages_by_size[size] = pages
                    run = Run(size=size, requests_seeded=n, cache=cache)
                    log(f"  {size} ({n:,} requests), page cache {cache}: {len(pages_by_size[size])} pages")
                    measure_run(server, run, pages_by_size[size], args, script)
                    runs[(size, cache)] = run
                finally:
                    server.stop()
                run.seconds = time.monotonic() - mark
                phases[f"measure {size}, cache {cache}"] = run.seconds
    finally:
        if not args.keep:
            for name in DATABASES.values():
                try:
                    pg.drop(name)
                except Exception as exc:  # report, but do not hide the first error
                    log(f"Could not drop {name}: {exc}")
        if private_redis is not None:
            private_redis.terminate()
            private_redis.wait()
        shutil.rmtree(scratch, ignore_errors=True)
    phases["total"] = time.monotonic() - started

    tables = {cache: judge(runs, cache) for cache in caches}
    memory: list[dict[str, Any]] = []
    for (size, cache), run in runs.items():
        verdict, reasons = judge_memory(run)
        memory.append(
            {
                "run": f"{sizes[size]:,} requests, cache {cache}",
                "start": run.memory_start,
                "end": run.memory_end,
                "verdict": verdict,
                "reasons": reasons,
            }
        )
    passed = all(row["verdict"] == "PASS" for rows in tables.values() for row in rows) and all(
        entry["verdict"] == "PASS" for entry in memory
    )

    head = headers(sizes)
    for cache, rows in tables.items():
        print(
            f"\nPage cache {cache}; share = page req/s over the floors' on either side; targets at {sizes['large']:,}"
        )
        print_table(head, table_rows(rows))
    print("\nWorker memory (RSS, MiB), start of run -> end:")
    for entry in memory:
        sizes_mib = ", ".join(
            f"{start // 1024}->{entry['end'].get(pid, 0) // 1024}" for pid, start in entry["start"].items()
        )
        print(
            f"  {entry['run']}: {sizes_mib}  {entry['verdict']}{': ' + '; '.join(entry['reasons']) if entry['reasons'] else ''}"
        )
    print("\nTime taken:")
    for phase, seconds in phases.items():
        print(f"  {phase}: {seconds:.0f} s")
    write_reports(
        args=args,
        argv=argv,
        sizes=sizes,
        facts=facts,
        runs=runs,
        tables=tables,
        memory=memory,
        phases=phases,
        box=box,
        passed=passed,
    )
    print(f"\n{'PASS' if passed else 'FAIL'}: wrote docs/performance.md and docs/performance.json")
    return 1 if args.check and not passed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        sys.exit(2)
