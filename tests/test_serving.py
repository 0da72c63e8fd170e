"""How production serves the portal: the checked-in gunicorn.conf.py and the benchmark's floor view."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, RequestFactory

from portal import bench

CONFIG = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


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
