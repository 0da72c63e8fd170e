"""
Throwaway PostgreSQL databases and roles for the tests that need more than the test
database: the application's role (tests/test_audit_roles.py) and a restored backup
(tests/test_backup.py). Each name carries a random suffix, so parallel runs and other
people's test databases on the same server never collide, and each is dropped by the
fixture that made it.

The server and the superuser are those of DATABASE_URL (the test run's own database).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from psycopg import sql

BASE_DIR = Path(settings.BASE_DIR)
ON_POSTGRESQL = connection.vendor == "postgresql"
SKIP_REASON = "needs PostgreSQL: roles, privileges and pg_dump have no SQLite counterpart"


def server() -> dict[str, Any]:
    """Host, port, superuser and password of the test run's PostgreSQL server."""
    db = settings.DATABASES["default"]
    return {
        "host": db.get("HOST") or "127.0.0.1",
        "port": int(db.get("PORT") or 5432),
        "user": db.get("USER") or "postgres",
        "password": db.get("PASSWORD") or None,
    }


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def connect(dbname: str, *, user: str | None = None, password: str | None = None, **kwargs: Any):
    """A psycopg connection to `dbname`, as the superuser unless `user` is given."""
    params = server()
    if user is not None:
        params.update(user=user, password=password)
    return psycopg.connect(dbname=dbname, **params, **kwargs)


def superuser_execute(*statements: sql.Composable | str, dbname: str = "postgres") -> None:
    """Run each statement as the superuser outside a transaction (CREATE/DROP DATABASE need that)."""
    with connect(dbname, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def create_role(name: str, password: str) -> None:
    superuser_execute(
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password))
    )


def drop_database_and_roles(database: str | None, roles: list[str]) -> None:
    """Drop what a fixture made; the database first, since the roles' privileges live in it."""
    if database:
        superuser_execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    for role in roles:
        superuser_execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def url(database: str, user: str, password: str) -> str:
    params = server()
    return f"postgres://{user}:{password}@{params['host']}:{params['port']}/{database}"


def manage(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    """`manage.py` in a child process connected to `database_url` (as `migrate` runs in a deploy)."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_REPLICA_URL"}
    env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def pg_binary(name: str) -> str:
    """pg_dump or pg_restore: on PATH, else from the newest installed PostgreSQL."""
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise RuntimeError(f"{name} not found on PATH nor in /usr/lib/postgresql/*/bin")
    return found


def pg_env() -> dict[str, str]:
    """Environment for pg_dump and pg_restore: the superuser's password, if any."""
    env = dict(os.environ)
    if server()["password"]:
        env["PGPASSWORD"] = server()["password"]
    return env


@contextmanager
def scratch_database(owner: str | None = None) -> Iterator[str]:
    """A new empty database (owned by `owner` if given), dropped afterwards."""
    name = unique("scratch")
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if owner:
        statement = sql.SQL("{} OWNER {}").format(statement, sql.Identifier(owner))
    superuser_execute(statement)
    try:
        yield name
    finally:
        drop_database_and_roles(name, [])
