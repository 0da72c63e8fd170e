"""How production serves the portal: the checked-in gunicorn.conf.py and the benchmark's floor view."""

from __future__ import annotations

import os
import runpy
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, RequestFactory

from portal import bench

BASE_DIR = Path(__file__).resolve().parent.parent
CONFIG = BASE_DIR / "gunicorn.conf.py"


def gunicorn_config(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    """The settings gunicorn.conf.py gives in an environment holding only `env` of its variables."""
    for name in (
        "GUNICORN_BIND",
        "GUNICORN_WORKERS",
        "GUNICORN_TIMEOUT",
        "GUNICORN_MAX_REQUESTS",
        "GUNICORN_ACCESS_LOG",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def test_gunicorn_serves_the_portal_on_loopback_with_three_preloaded_sync_workers(monkeypatch):
    config = gunicorn_config(monkeypatch)
    assert config["wsgi_app"] == "portal.wsgi:application"
    assert config["bind"] == ["127.0.0.1:8000"]
    assert (config["workers"], config["worker_class"], config["preload_app"]) == (3, "sync", True)


def test_gunicorn_writes_no_access_log_by_default(monkeypatch):
    assert gunicorn_config(monkeypatch)["accesslog"] is None


def test_gunicorn_recycles_workers_with_jitter_so_they_never_restart_together(monkeypatch):
    config = gunicorn_config(monkeypatch)
    assert config["max_requests"] == 1000
    assert config["max_requests_jitter"] > 0


def test_gunicorn_takes_address_workers_and_recycling_from_the_environment(monkeypatch):
    config = gunicorn_config(
        monkeypatch, GUNICORN_BIND="0.0.0.0:9000", GUNICORN_WORKERS="5", GUNICORN_MAX_REQUESTS="0"
    )
    assert (config["bind"], config["workers"]) == (["0.0.0.0:9000"], 5)
    assert (config["max_requests"], config["max_requests_jitter"]) == (0, 0)


def test_the_floor_view_answers_ok_and_does_nothing_else():
    response = bench.floor(RequestFactory().get("/bench/floor/"))
    assert (response.status_code, response.content) == (200, b"ok")


@pytest.mark.django_db
def test_the_floor_is_not_routed_unless_the_benchmark_turns_it_on():
    assert Client().get("/bench/floor/").status_code == 404


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def raw_head(port: int, path: str) -> bytes:
    """The status line and headers exactly as the server wrote them."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n\r\n", 1)[0]


@pytest.fixture(scope="module")
def gunicorn_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real gunicorn started from gunicorn.conf.py, one worker, on a free loopback port."""
    port = free_loopback_port()
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "DJANGO_DEBUG": "1",
        "PYTHONPATH": str(BASE_DIR),
    }
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [gunicorn, "--config", str(CONFIG)], cwd=BASE_DIR, env=env, stdout=sink, stderr=sink
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
            try:
                raw_head(port, "/robots.txt")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not answer within 30 s:\n{log.read_text()}")
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_gunicorn_started_from_its_config_sends_no_server_banner(gunicorn_port):
    head = raw_head(gunicorn_port, "/robots.txt")
    assert head.startswith(b"HTTP/1.1 200 ")
    names = [line.split(b":", 1)[0].strip().lower() for line in head.split(b"\r\n")[1:]]
    assert b"date" in names  # the headers gunicorn itself writes are still there
    assert b"server" not in names
    assert b"gunicorn" not in head.lower()


def test_gunicorn_passes_the_portal_security_headers_through(gunicorn_port):
    lines = raw_head(gunicorn_port, "/robots.txt").decode().lower().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "camera=()" in headers["permissions-policy"]
