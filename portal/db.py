"""
Reads from a PostgreSQL streaming replica, without ever showing a resident an old record.

With `DATABASE_REPLICA_URL` set (portal/settings.py), the database alias `replica` is a hot
standby of `default`, the primary. `PrimaryReplicaRouter` sends a query there only while
`ReplicaReadMiddleware` says the request may be answered from it; everything else (every
write, management commands, cron jobs, the shell, migrations) uses the primary.

Which requests may read from the replica: anonymous GET and HEAD requests outside the admin
that send no credentials. A signed-in user (staff, clerks, liaisons) works on drafts and
decisions they have just made, so their pages read from the primary; so does every POST
and every other method, and every request under /admin/, even its login page.

When they may: a replica replays the primary's changes a moment later, so a page read from
it right after a decision could show the request still pending. The first query of a
request decides, from two facts:

- the moment of the last committed change of the public record, `page_cache.last_write()`,
  kept in the shared cache by the on-commit hook of `ordinances/page_cache.py`;
- how far the replica has replayed, checked at most every `CHECK_SECONDS` per process
  (`ReplicaState`): the moment up to which every commit on the primary has been replayed.
  Exact when the replica has replayed everything the primary has flushed (its replay LSN
  reaches the primary's flush LSN, asked just before): every commit before the question is
  on the replica. Otherwise the commit time of the last transaction it replayed.

The replica answers only if it has replayed past the last change and is less than
`PORTAL_REPLICA_MAX_LAG` seconds behind: a change that `last_write()` does not see (a bulk
`update()`, a cache that was emptied) can show late by that much and no more. In every other
case the request reads from the primary, as it would without a replica.

If the replica is down or fails during a request, the request is answered from the primary:
a failed check marks it down for `RETRY_SECONDS`, and a GET that failed on it is run again on
the primary (GET and HEAD change nothing, so running one twice is safe).

Models whose changes do not move `last_write()` (sessions, the outbox and alert
subscriptions, `page_cache.PRIVATE_MODELS`) are always read from the primary: a resident who
has just asked for alerts must find the subscription the confirmation link names.

Clocks: `last_write()` is taken on the app host that made the change, the moment of a check
on the app host that checks; the commit times of the fallback on the database host. Keep
every host's clock synchronised (NTP), as PostgreSQL's own replication monitoring assumes.
docs/deployment.md describes the setup; tests/test_replica.py runs it against two clusters.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import Error, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponseBase
from django.urls import NoReverseMatch, reverse

from ordinances import page_cache

logger = logging.getLogger(__name__)

PRIMARY = "default"
REPLICA = "replica"
# How long one process trusts what it learnt about the replica, and how long it leaves a
# replica alone after it failed to answer (a host that is down can cost a connect timeout).
CHECK_SECONDS = 0.5
RETRY_SECONDS = 5.0
DEFAULT_MAX_LAG = 5.0
SAFE_METHODS = ("GET", "HEAD")
# Rows that must be read where they were written: see the module's docstring.
PRIMARY_MODELS = frozenset(
    {"sessions.session", *(f"ordinances.{name}" for name in page_cache.PRIVATE_MODELS)}
)


def last_write() -> float | None:
    """Seconds since the epoch of the last committed change of the public record, if known."""
    return page_cache.last_write()


def lsn(text: str) -> int:
    """A PostgreSQL WAL position ("16/B374D848") as a number that orders like the positions."""
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


@dataclass(frozen=True)
class ReplicaState:
    """
    What one check learnt. `replayed_to`: seconds since the epoch up to which every commit on
    the primary is on the replica (None when unknown); `usable`: it answered and is a standby.
    """

    checked_at: float
    usable: bool
    replayed_to: float | None = None

    def serves(self, now: float, since: float | None, max_lag: float) -> bool:
        """Whether a read at `now` may use the replica, the record having last changed at `since`."""
        if not self.usable or self.replayed_to is None:
            return False
        if now - self.replayed_to > max_lag:
            return False
        return since is None or self.replayed_to >= since


def check_replica() -> ReplicaState:
    """
    Ask the primary how far it has flushed its WAL, then the replica how far it has replayed.
    Two small queries on connections the request would open anyway; never raises.
    """
    asked_at = time.time()
    try:
        with connections[PRIMARY].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_flush_lsn()::text")
            flushed = lsn(cursor.fetchone()[0])
    except Error:
        logger.warning("Could not ask the primary for its WAL position; reading from it.", exc_info=True)
        return ReplicaState(checked_at=asked_at, usable=False)
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,"
                " EXTRACT(EPOCH FROM pg_last_xact_replay_timestamp())::float8"
            )
            in_recovery, replayed, last_commit = cursor.fetchone()
    except Error:
        logger.warning("The read replica does not answer; reading from the primary.", exc_info=True)
        _close_replica()
        return ReplicaState(checked_at=asked_at, usable=False)
    if not in_recovery or replayed is None:
        # Promoted, or not a standby at all: it no longer follows the primary.
        logger.error("DATABASE_REPLICA_URL names a server that is not a standby; reading from the primary.")
        return ReplicaState(checked_at=asked_at, usable=False)
    if lsn(replayed) >= flushed:
        return ReplicaState(checked_at=asked_at, usable=True, replayed_to=asked_at)
    return ReplicaState(checked_at=asked_at, usable=True, replayed_to=last_commit)


def _close_replica() -> None:
    with contextlib.suppress(Error):
        connections[REPLICA].close()


_state: ReplicaState | None = None
_state_lock = threading.Lock()


def replica_state(*, force: bool = False) -> ReplicaState:
    """This process's latest check, made again when it is older than it may be trusted."""
    global _state
    with _state_lock:
        now = time.time()
        state = _state
        if state is not None and not force:
            age = now - state.checked_at
            if age < (CHECK_SECONDS if state.usable else RETRY_SECONDS):
                return state
        _state = check_replica()
        return _state


def forget_replica_state() -> None:
    """Drop what this process knows about the replica (tests; after a failover)."""
    global _state
    with _state_lock:
        _state = None


def max_lag() -> float:
    return float(getattr(settings, "PORTAL_REPLICA_MAX_LAG", DEFAULT_MAX_LAG))


class _Route:
    """One request's permission to read from the replica, decided at its first query."""

    def __init__(self) -> None:
        self.choice: bool | None = None

    def uses_replica(self) -> bool:
        if self.choice is None:
            self.choice = replica_state().serves(time.time(), last_write(), max_lag())
        return self.choice


# Set by ReplicaReadMiddleware for the length of one anonymous read; None everywhere else.
_route: contextvars.ContextVar[_Route | None] = contextvars.ContextVar("portal_db_route", default=None)


def reading_from_replica() -> bool:
    """Whether a query made now would read from the replica."""
    route = _route.get()
    return route is not None and route.uses_replica()


class PrimaryReplicaRouter:
    """Reads to the replica only inside an anonymous read the middleware has let through."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        if model._meta.label_lower in PRIMARY_MODELS:
            return PRIMARY
        # Inside a transaction on the primary (a workflow step locking its row), stay there.
        if connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return REPLICA if reading_from_replica() else PRIMARY

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        """A row read from the replica is the same row as on the primary."""
        if {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        """Migrations run on the primary only; the replica receives them by replication."""
        return db == PRIMARY


def _admin_prefix() -> str | None:
    try:
        return reverse("admin:index")
    except NoReverseMatch:
        return None


def replica_configured() -> bool:
    """Whether settings name a replica (DATABASE_REPLICA_URL)."""
    return REPLICA in connections.settings


def may_read_from_replica(request: HttpRequest) -> bool:
    """An anonymous GET or HEAD outside the admin, without credentials."""
    if not replica_configured() or request.method not in SAFE_METHODS:
        return False
    if "HTTP_AUTHORIZATION" in request.META:
        return False
    admin = _admin_prefix()
    if admin is not None and request.path_info.startswith(admin):
        return False
    user = getattr(request, "user", None)
    return not (user is not None and user.is_authenticated)


class ReplicaReadMiddleware:
    """
    Let an anonymous read use the replica (after AuthenticationMiddleware: it needs the user).
    A request that fails on the replica because the replica failed is answered again from
    the primary.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not may_read_from_replica(request):
            return self.get_response(request)
        route = _Route()
        token = _route.set(route)
        try:
            response = self.get_response(request)
        except Error:
            if not self._replica_failed(route):
                raise
            response = None
        finally:
            _route.reset(token)
        if response is not None and (response.status_code < 500 or not self._replica_failed(route)):
            return response
        logger.warning(
            "The read replica failed during %s %s; answering from the primary.", request.method, request.path
        )
        return self.get_response(request)

    @staticmethod
    def _replica_failed(route: _Route) -> bool:
        """Whether this request used the replica and the replica no longer answers."""
        if not route.choice:
            return False
        _close_replica()
        return not replica_state(force=True).usable
