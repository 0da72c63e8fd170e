"""
The read-replica router's decisions (portal/db.py), without a replica: which requests may
read from it, when it is fresh enough, and what happens when it fails. The same router
against two real PostgreSQL clusters: tests/test_replica.py.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import OperationalError
from django.http import HttpResponse
from django.test import RequestFactory

import portal.db
from ordinances.models import Request, Subscription
from portal.db import PrimaryReplicaRouter, ReplicaReadMiddleware, ReplicaState

NOW = 1_800_000_000.0
router = PrimaryReplicaRouter()


@pytest.fixture
def fresh_replica(monkeypatch):
    """A replica is configured, and has replayed everything up to a moment ago."""
    monkeypatch.setattr(portal.db, "replica_configured", lambda: True)
    state = ReplicaState(checked_at=time.time(), usable=True, replayed_to=time.time())
    monkeypatch.setattr(portal.db, "replica_state", lambda force=False: state)
    monkeypatch.setattr(portal.db, "last_write", lambda: time.time() - 60)


def read_during(request, model=Request) -> str:
    """The alias a read of `model` goes to while the middleware handles `request`."""
    seen: list[str] = []

    def view(request):
        seen.append(router.db_for_read(model))
        return HttpResponse()

    ReplicaReadMiddleware(view)(request)
    return seen[0]


def anonymous(request):
    request.user = AnonymousUser()
    return request


def test_reads_outside_a_request_use_the_primary():
    assert router.db_for_read(Request) == "default"


def test_every_write_goes_to_the_primary(fresh_replica):
    assert router.db_for_write(Request) == "default"


def test_migrations_run_on_the_primary_only():
    assert router.allow_migrate("default", "ordinances")
    assert not router.allow_migrate("replica", "ordinances")


def test_an_anonymous_get_reads_from_a_fresh_replica(fresh_replica):
    assert read_during(anonymous(RequestFactory().get("/requests/"))) == "replica"


def test_the_replica_is_used_only_during_the_request(fresh_replica):
    read_during(anonymous(RequestFactory().get("/requests/")))
    assert router.db_for_read(Request) == "default"


@pytest.mark.parametrize(
    "request_",
    [
        anonymous(RequestFactory().post("/requests/")),
        anonymous(RequestFactory().head("/admin/login/")),
        anonymous(RequestFactory().get("/api/v1/requests/", HTTP_AUTHORIZATION="Basic eDp5")),
    ],
    ids=["post", "admin", "credentials"],
)
def test_writes_the_admin_and_credentials_read_from_the_primary(fresh_replica, request_):
    assert read_during(request_) == "default"


def test_a_signed_in_user_reads_from_the_primary(fresh_replica):
    request = RequestFactory().get("/requests/")
    request.user = SimpleNamespace(is_authenticated=True)
    assert read_during(request) == "default"


def test_rows_the_page_cache_does_not_track_are_read_from_the_primary(fresh_replica):
    assert read_during(anonymous(RequestFactory().get("/alerts/")), model=Subscription) == "default"


def test_a_replica_behind_the_last_change_is_not_read(fresh_replica, monkeypatch):
    monkeypatch.setattr(portal.db, "last_write", lambda: time.time() + 1)
    assert read_during(anonymous(RequestFactory().get("/requests/"))) == "default"


def test_without_a_replica_nothing_changes(monkeypatch):
    monkeypatch.setattr(portal.db, "replica_configured", lambda: False)
    assert read_during(anonymous(RequestFactory().get("/requests/"))) == "default"


@pytest.mark.parametrize(
    ("state", "last_change", "serves"),
    [
        (ReplicaState(NOW, usable=True, replayed_to=NOW), NOW - 1, True),
        (ReplicaState(NOW, usable=True, replayed_to=NOW), None, True),
        (ReplicaState(NOW, usable=True, replayed_to=NOW - 1), NOW, False),
        (ReplicaState(NOW, usable=True, replayed_to=NOW - 6), None, False),
        (ReplicaState(NOW, usable=True, replayed_to=None), None, False),
        (ReplicaState(NOW, usable=False), None, False),
    ],
    ids=["past-the-change", "change-unknown", "behind-the-change", "over-the-lag", "unknown", "down"],
)
def test_a_replica_serves_only_past_the_last_change_and_within_the_lag(state, last_change, serves):
    assert state.serves(NOW, last_change, max_lag=5.0) is serves


def test_wal_positions_compare_as_numbers():
    assert portal.db.lsn("1/0") > portal.db.lsn("0/FFFFFFFF") > portal.db.lsn("0/75AA000")


def test_a_read_that_fails_on_a_replica_gone_down_is_answered_from_the_primary(fresh_replica, monkeypatch):
    down = ReplicaState(checked_at=time.time(), usable=False)
    up = portal.db.replica_state()
    monkeypatch.setattr(portal.db, "replica_state", lambda force=False: down if force else up)
    monkeypatch.setattr(portal.db, "_close_replica", lambda: None)
    used: list[str] = []

    def view(request):
        used.append(router.db_for_read(Request))
        if used[-1] == "replica":
            raise OperationalError("connection refused")
        return HttpResponse("from the primary")

    response = ReplicaReadMiddleware(view)(anonymous(RequestFactory().get("/requests/")))
    assert (response.status_code, used) == (200, ["replica", "default"])
