"""
A backup restores to the same record, still protected (issue 10; docs/operations.md,
"Backup and restore").

Once per module: the demonstration data is written and committed to the test database
(requests with their timelines, ordinance changes, oversight events), dumped with
`pg_dump -Fc` as the routine does, and restored with `pg_restore` into a fresh database
owned by a role that is not a superuser. The tests compare the two and try to rewrite the
restored audit record as that owner, who holds every privilege on it: only the triggers
stand in the way. The test database is emptied again afterwards.

PostgreSQL only.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from psycopg import errors, sql

from tests.scratch_pg import (
    ON_POSTGRESQL,
    SKIP_REASON,
    connect,
    create_role,
    drop_database_and_roles,
    pg_binary,
    pg_env,
    server,
    superuser_execute,
    unique,
)

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.skipif(not ON_POSTGRESQL, reason=SKIP_REASON),
    # For the test database to be set up. The seed is committed by the module's fixture, before
    # and outside each test's transaction, so pg_dump sees it; the tests only read through their
    # own connections, so the transaction each test runs in changes nothing.
    pytest.mark.django_db,
]

AUDIT_TABLES = ["ordinances_event", "ordinances_ordinancechange", "ordinances_oversightevent"]


@dataclass(frozen=True)
class Restored:
    original: str
    copy: str
    owner: str
    password: str

    def as_owner(self) -> psycopg.Connection:
        return connect(self.copy, user=self.owner, password=self.password)


def tables(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    return [row[0] for row in rows]


def count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    assert row is not None
    return row[0]


def rows(conn: psycopg.Connection, table: str) -> list[tuple]:
    return conn.execute(sql.SQL("SELECT * FROM {} ORDER BY id").format(sql.Identifier(table))).fetchall()


def run(*command: str) -> None:
    done = subprocess.run(command, env=pg_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command[0]} failed:\n{done.stderr}"


@pytest.fixture(scope="module")
def restored(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Restored]:
    original = connection.settings_dict["NAME"]
    owner, password = unique("backup_owner"), secrets.token_hex(16)
    copy: str | None = None
    dump = Path(tmp_path_factory.mktemp("backup")) / "portal.dump"
    params = server()
    where = ["-h", params["host"], "-p", str(params["port"]), "-U", params["user"]]
    with django_db_blocker.unblock():
        try:
            # Committed, not inside a test's transaction: pg_dump sees only committed rows.
            call_command("seed_demo", verbosity=0)
            create_role(owner, password)
            copy = unique("backup_restored")
            superuser_execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(copy), sql.Identifier(owner))
            )
            run(pg_binary("pg_dump"), *where, "--format=custom", f"--file={dump}", original)
            # --no-owner --role: the copy's objects belong to its (non-superuser) owner, as when an
            # operator restores as the owner role.
            run(
                pg_binary("pg_restore"),
                *where,
                "--exit-on-error",
                "--no-owner",
                f"--role={owner}",
                f"--dbname={copy}",
                str(dump),
            )
            yield Restored(original=original, copy=copy, owner=owner, password=password)
        finally:
            drop_database_and_roles(copy, [owner])
            # As the suite's flush between transactional tests does (as the superuser, whom the
            # TRUNCATE trigger lets through), so later tests start from an empty database.
            call_command("flush", verbosity=0, interactive=False)


@pytest.fixture
def original(restored) -> Iterator[psycopg.Connection]:
    with connect(restored.original) as conn:
        yield conn


@pytest.fixture
def copy(restored) -> Iterator[psycopg.Connection]:
    with connect(restored.copy) as conn:
        yield conn


@pytest.fixture
def as_owner(restored) -> Iterator[psycopg.Connection]:
    conn = restored.as_owner()
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()


@pytest.mark.parametrize("table", [*AUDIT_TABLES, "ordinances_request", "ordinances_decision"])
def test_the_backup_is_of_a_database_with_records_of_each_kind(table, original):
    assert count(original, table) > 0


def test_the_restored_copy_has_every_table_of_the_original(original, copy):
    assert tables(copy) == tables(original)


def test_the_restored_copy_has_as_many_rows_in_every_table(original, copy):
    assert {table: count(copy, table) for table in tables(copy)} == {
        table: count(original, table) for table in tables(original)
    }


@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_the_restored_audit_record_is_identical_row_for_row(table, original, copy):
    assert rows(copy, table) == rows(original, table)


@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_the_restored_copy_refuses_to_update_the_audit_record(table, as_owner):
    with pytest.raises(errors.InsufficientPrivilege, match="append-only: UPDATE refused"):
        as_owner.execute(sql.SQL("UPDATE {} SET created_at = now()").format(sql.Identifier(table)))


@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_the_restored_copy_refuses_to_delete_from_the_audit_record(table, as_owner):
    with pytest.raises(errors.InsufficientPrivilege, match="append-only: DELETE refused"):
        as_owner.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))


@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_the_restored_copy_refuses_to_truncate_the_audit_record(table, as_owner):
    with pytest.raises(errors.InsufficientPrivilege, match="append-only: TRUNCATE refused"):
        as_owner.execute(sql.SQL("TRUNCATE {} CASCADE").format(sql.Identifier(table)))


def test_the_restored_copy_numbers_a_new_event_after_the_last_one(as_owner):
    last = as_owner.execute("SELECT max(id) FROM ordinances_event").fetchone()
    new = as_owner.execute(
        "INSERT INTO ordinances_event (request_id, created_at, actor_name, actor_role, action, "
        "from_status, to_status, data, note, is_public) "
        "SELECT request_id, now(), '', '', 'note', '', '', '{}', 'After the restore.', false "
        "FROM ordinances_event ORDER BY id LIMIT 1 RETURNING id"
    ).fetchone()

    assert last is not None and new is not None
    assert new[0] > last[0]
