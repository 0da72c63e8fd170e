"""
The database router against two real PostgreSQL clusters: a primary and its streaming
replica (`.ci/replica` makes them in CI; portal/db.py, docs/deployment.md).

Enabled only by PORTAL_TEST_REPLICA_URL (e.g. postgres://postgres@127.0.0.1:5433/portal), a
superuser on the standby of the primary that DATABASE_URL names: CI sets it after making
the replica, so a machine where that failed fails instead of skipping.

Django's test database exists only on the primary, and a standby cannot create one. So the
module makes a real database on the primary, migrates and seeds it in a subprocess
(`migrate`, `seed_demo`: requests in every state, built through the workflow), waits for the
replica to replay it, points this process's connections at both, and asks pages of the app
through Django's test client. Which server answered is read from the queries each alias
ran. The database is dropped at the end.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dj_database_url
import psycopg
import pytest
from asgiref.local import Local
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connections
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from psycopg.conninfo import make_conninfo

import portal.db
from ordinances import roles, workflow
from ordinances.models import Request

REPLICA_URL = os.environ.get("PORTAL_TEST_REPLICA_URL", "")
ON_POSTGRESQL = "postgresql" in settings.DATABASES["default"]["ENGINE"]

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.skipif(
        not REPLICA_URL,
        reason="PORTAL_TEST_REPLICA_URL is not set: no streaming replica to test against (.ci/replica makes one)",
    ),
    pytest.mark.skipif(not ON_POSTGRESQL, reason="the replica router needs DATABASE_URL on PostgreSQL"),
]

ROOT = Path(__file__).resolve().parent.parent
DATABASE = f"portal_replica_{os.getpid()}"
# How long to wait for the replica to catch up with something it will certainly replay.
CATCH_UP_SECONDS = 60.0


# ---------------------------------------------------------------------------
# The two servers
# ---------------------------------------------------------------------------


def server(url: str, name: str) -> dict[str, Any]:
    """Django's settings for database `name` on the server `url` names."""
    config = dj_database_url.parse(url)
    return {**config, "NAME": name}


def conninfo(config: dict[str, Any], name: str | None = None) -> str:
    return make_conninfo(
        host=config["HOST"],
        port=config["PORT"],
        user=config["USER"],
        password=config["PASSWORD"] or None,
        dbname=name or config["NAME"],
        application_name="portal-test-replica",
    )


def one(config: dict[str, Any], sql: str, name: str | None = None) -> Any:
    with psycopg.connect(conninfo(config, name), autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
        return row[0] if row else None


def wait_for(condition: Callable[[], bool], seconds: float, what: str, every: float = 0.1) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {seconds} s waiting for {what}")
        time.sleep(every)


def replica_has_replayed(primary: dict[str, Any], replica: dict[str, Any]) -> Callable[[], bool]:
    """A test for the replica having replayed everything the primary has flushed by now."""
    target = portal.db.lsn(one(primary, "SELECT pg_current_wal_flush_lsn()::text", "postgres"))

    def replayed() -> bool:
        position = one(replica, "SELECT pg_last_wal_replay_lsn()::text", "postgres")
        return position is not None and portal.db.lsn(position) >= target

    return replayed


@contextmanager
def connected_to(databases: dict[str, dict[str, Any]]) -> Iterator[None]:
    """This process's connections to `databases` for a while; the test run's own ones after."""
    saved_settings, saved_local = connections.settings, connections._connections
    connections.settings = connections.configure_settings(databases)
    connections._connections = Local(connections.thread_critical)
    try:
        yield
    finally:
        connections.close_all()
        connections.settings = saved_settings
        connections._connections = saved_local


@pytest.fixture(scope="module")
def clusters(django_db_blocker) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """A migrated, seeded database on the primary and the replica; this process connected to both."""
    started = time.monotonic()
    primary = {**settings.DATABASES["default"], "NAME": DATABASE, "OPTIONS": {}, "TEST": {}}
    replica = server(REPLICA_URL, DATABASE)
    with psycopg.connect(conninfo(primary, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    try:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DJANGO_DEBUG": "1",
            "DATABASE_URL": f"postgres://{primary['USER']}@{primary['HOST']}:{primary['PORT']}/{DATABASE}",
        }
        env.pop("DATABASE_REPLICA_URL", None)
        if primary["PASSWORD"]:
            env["PGPASSWORD"] = primary["PASSWORD"]
        seeded = subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup(); from django.core.management import call_command; "
                "call_command('migrate', verbosity=0); call_command('seed_demo', verbosity=0)",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if seeded.returncode:
            pytest.fail(f"migrate and seed_demo failed:\n{seeded.stdout}\n{seeded.stderr}")
        wait_for(replica_has_replayed(primary, replica), CATCH_UP_SECONDS, "the replica to replay the seed")
        print(f"\nreplica test database ready in {time.monotonic() - started:.1f} s")
        databases = {
            "default": {**primary, "CONN_MAX_AGE": 0},
            "replica": {**replica, "CONN_MAX_AGE": 0, "TEST": {"MIRROR": "default"}},
        }
        middleware = [name for name in settings.MIDDLEWARE if name != "portal.db.ReplicaReadMiddleware"]
        middleware.insert(
            middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
            "portal.db.ReplicaReadMiddleware",
        )
        with (
            django_db_blocker.unblock(),
            connected_to(databases),
            override_settings(DATABASE_ROUTERS=["portal.db.PrimaryReplicaRouter"], MIDDLEWARE=middleware),
        ):
            yield primary, replica
    finally:
        with psycopg.connect(conninfo(primary, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def fresh_knowledge() -> Iterator[None]:
    """Each test starts with no opinion of the replica (a new process, as it were)."""
    portal.db.forget_replica_state()
    yield
    portal.db.forget_replica_state()


@pytest.fixture
def primary(clusters) -> dict[str, Any]:
    return clusters[0]


@pytest.fixture
def replica(clusters) -> dict[str, Any]:
    return clusters[1]


# ---------------------------------------------------------------------------
# Reading pages and telling which server answered
# ---------------------------------------------------------------------------


def record_queries(sqls: list[dict[str, Any]]) -> list[str]:
    """The queries of the record (the router's own checks left out)."""
    return [query["sql"] for query in sqls if '"ordinances_' in query["sql"]]


def read(client: Client, path: str, method: str = "get", **data: Any) -> tuple[Any, str]:
    """The answer to `path` and which server gave the record: "replica", "primary" or "both"."""
    with (
        CaptureQueriesContext(connections["default"]) as on_primary,
        CaptureQueriesContext(connections["replica"]) as on_replica,
    ):
        response = getattr(client, method)(path, data)
    replica_reads = record_queries(on_replica.captured_queries)
    primary_reads = record_queries(on_primary.captured_queries)
    where = {(True, False): "replica", (False, True): "primary", (True, True): "both"}.get(
        (bool(replica_reads), bool(primary_reads)), "neither"
    )
    return response, where


def stands(response: Any) -> str:
    """Where a request stands on its public page ("Approved", "Revoked", ...)."""
    match = re.search(r"Where it stands: ([^.,<]+)", response.content.decode())
    assert match, "no status on the page"
    return match.group(1).strip()


def replica_serves_now() -> bool:
    portal.db.forget_replica_state()
    return portal.db.replica_state().serves(time.time(), portal.db.last_write(), portal.db.max_lag())


def a_request(status: str) -> Request:
    return Request.objects.filter(status=status).order_by("pk").first()  # type: ignore[return-value]


def staff_member() -> User:
    """Council staff who can sign in to the admin."""
    user, created = User.objects.get_or_create(username="replica-test-staff", defaults={"is_staff": True})
    if created:
        user.groups.add(Group.objects.get(name=roles.STAFF))
    return user


@contextmanager
def replay_paused(replica: dict[str, Any]) -> Iterator[None]:
    """The replica keeps receiving the primary's changes but applies none of them."""
    one(replica, "SELECT pg_wal_replay_pause()", "postgres")
    try:
        yield
    finally:
        one(replica, "SELECT pg_wal_replay_resume()", "postgres")


def status_on_replica(replica: dict[str, Any], request: Request) -> str:
    return one(replica, f"SELECT status FROM ordinances_request WHERE id = {int(request.pk)}")


def cluster(replica: dict[str, Any]) -> list[str]:
    """The replica's Debian cluster as pg_ctlcluster names it ("15", "replica")."""
    return one(replica, "SHOW cluster_name", "postgres").split("/")


# ---------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------


def test_the_replica_alias_is_a_streaming_standby(replica):
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), current_setting('port')::int")
        assert cursor.fetchone() == (True, int(replica["PORT"]))


def test_an_anonymous_page_is_read_from_the_replica(clusters):
    client = Client()
    wait_for(replica_serves_now, CATCH_UP_SECONDS, "the replica to be fresh")

    def from_replica() -> bool:
        response, where = read(client, "/requests/")
        assert response.status_code == 200
        return where == "replica"

    wait_for(from_replica, CATCH_UP_SECONDS, "an anonymous page read from the replica")


def test_a_signed_in_user_reads_every_page_from_the_primary(clusters):
    client = Client()
    client.force_login(staff_member())
    wait_for(replica_serves_now, CATCH_UP_SECONDS, "the replica to be fresh")
    for path in ("/requests/", "/admin/", "/admin/ordinances/request/"):
        response, where = read(client, path)
        assert response.status_code == 200, path
        assert where == "primary", path


def test_a_post_is_answered_from_the_primary(clusters):
    client = Client()
    reference = a_request(Request.Status.APPROVED).reference
    wait_for(replica_serves_now, CATCH_UP_SECONDS, "the replica to be fresh")
    response, where = read(client, f"/requests/{reference}/comment/", method="post")
    assert response.status_code < 500
    assert where == "primary"


def test_a_decision_shows_at_once_while_the_replica_has_not_replayed_it(clusters, replica):
    client = Client()
    decided = a_request(Request.Status.APPROVED)
    page = f"/requests/{decided.reference}/"
    wait_for(replica_serves_now, CATCH_UP_SECONDS, "the replica to be fresh")
    with replay_paused(replica):
        workflow.perform("revoke", decided, by=staff_member(), reason="Conditions breached.")
        # The replica really is behind: it still holds the approval.
        assert status_on_replica(replica, decided) == Request.Status.APPROVED
        response, where = read(client, page)
        assert (stands(response), where) == ("Revoked", "primary")

    def revoked_from_replica() -> bool:
        portal.db.forget_replica_state()
        response, where = read(client, page)
        assert stands(response) == "Revoked"
        return where == "replica"

    # Once the replica has replayed the decision, residents read it there again.
    wait_for(revoked_from_replica, CATCH_UP_SECONDS, "the replica to serve the decision")


def test_without_the_moment_of_the_change_a_resident_sees_the_old_state_only_within_the_lag_bound(
    clusters, replica, settings, monkeypatch
):
    settings.PORTAL_REPLICA_MAX_LAG = 1.0
    monkeypatch.setattr(portal.db, "last_write", lambda: None)  # a change the hook did not see
    client = Client()
    changed = a_request(Request.Status.SUBMITTED)
    page = f"/requests/{changed.reference}/"
    wait_for(replica_serves_now, CATCH_UP_SECONDS, "the replica to be fresh")
    seen: list[tuple[float, str, str]] = []
    with replay_paused(replica):
        workflow.perform("begin_review", changed, by=staff_member())
        committed = time.time()
        while time.time() < committed + settings.PORTAL_REPLICA_MAX_LAG + 1.5:
            response, where = read(client, page)
            seen.append((time.time() - committed, stands(response), where))
            time.sleep(0.05)
        assert status_on_replica(replica, changed) == Request.Status.SUBMITTED
    old = [(after, where) for after, state, where in seen if state != "In review"]
    assert all(where == "replica" and after <= settings.PORTAL_REPLICA_MAX_LAG for after, where in old), old
    assert [state for after, state, _ in seen if after > settings.PORTAL_REPLICA_MAX_LAG] != []
    assert {state for after, state, _ in seen if after > settings.PORTAL_REPLICA_MAX_LAG} == {"In review"}


def test_anonymous_pages_are_answered_from_the_primary_while_the_replica_is_down(
    clusters, replica, settings, monkeypatch
):
    client = Client(raise_request_exception=False)
    version, name = cluster(replica)
    wait_for(replica_serves_now, CATCH_UP_SECONDS, "the replica to be fresh")
    # Trust the last check for the whole test, however long the replica takes to stop: the
    # first read still picks the replica, fails on it mid-request, and must be answered again
    # from the primary; the reads after it go straight to the primary.
    monkeypatch.setattr(portal.db, "CHECK_SECONDS", 600.0)
    settings.PORTAL_REPLICA_MAX_LAG = 600.0
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "stop"], check=True)
    try:
        for path in ("/requests/", "/agencies/", "/"):
            with CaptureQueriesContext(connections["default"]) as on_primary:
                response = client.get(path)
            assert response.status_code == 200, path
            assert record_queries(on_primary.captured_queries), path
        assert not portal.db.replica_state().usable
    finally:
        connections["replica"].close()
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"], check=True)
        wait_for(lambda: in_recovery(replica), CATCH_UP_SECONDS, "the replica to start again", every=0.2)


def in_recovery(replica: dict[str, Any]) -> bool:
    """Whether the replica accepts connections, as a standby."""
    try:
        return one(replica, "SELECT pg_is_in_recovery()", "postgres") is True
    except psycopg.OperationalError:
        return False
