"""
The application's database role cannot rewrite the audit record (issue 10).

A scratch database is migrated and seeded as an owner role, exactly as a deployment does
(`manage.py migrate`, then `manage.py grant_app_role`, both with the owner's DATABASE_URL);
then each test connects as the application's role and tries one thing. Row triggers
(migrations 0002, 0012, 0016) and the TRUNCATE trigger (0015) protect the rows from the
owner too; the role's privileges are what stop the application from switching them off.

PostgreSQL only: SQLite has no roles (the command says so, last test).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest
from django.core.management import CommandError, call_command
from psycopg import errors, sql

from ordinances.management.commands.grant_app_role import append_only_tables
from tests.scratch_pg import (
    ON_POSTGRESQL,
    SKIP_REASON,
    connect,
    create_role,
    drop_database_and_roles,
    manage,
    server,
    superuser_execute,
    unique,
    url,
)


def postgresql_only(test: Callable[..., None]) -> Callable[..., None]:
    return pytest.mark.postgresql(pytest.mark.skipif(not ON_POSTGRESQL, reason=SKIP_REASON)(test))


AUDIT_TABLES = ["ordinances_event", "ordinances_ordinancechange", "ordinances_oversightevent"]
PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]


@dataclass(frozen=True)
class Scratch:
    database: str
    owner: str
    app: str
    # A role that is never granted anything: for --print.
    bystander: str
    password: str

    def as_owner(self) -> psycopg.Connection:
        return connect(self.database, user=self.owner, password=self.password)

    def grant(self, role: str, *options: str):
        return manage(
            "grant_app_role", role, *options, database_url=url(self.database, self.owner, self.password)
        )


@pytest.fixture(scope="module")
def scratch() -> Iterator[Scratch]:
    password = secrets.token_hex(16)
    made = Scratch(
        database=unique("audit_roles"),
        owner=unique("audit_owner"),
        app=unique("audit_app"),
        bystander=unique("audit_bystander"),
        password=password,
    )
    roles: list[str] = []
    database: str | None = None
    try:
        for role in (made.owner, made.app, made.bystander):
            create_role(role, password)
            roles.append(role)
        superuser_execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(made.database), sql.Identifier(made.owner)
            )
        )
        database = made.database
        owner_url = url(made.database, made.owner, password)
        for step in (("migrate", "-v0"), ("seed_demo", "-v0"), ("grant_app_role", made.app)):
            done = manage(*step, database_url=owner_url)
            assert done.returncode == 0, f"{' '.join(step)} failed:\n{done.stderr}"
        yield made
    finally:
        drop_database_and_roles(database, roles)


@pytest.fixture
def as_app(scratch) -> Iterator[psycopg.Connection]:
    """The application's connection; whatever a test does is rolled back."""
    conn = connect(scratch.database, user=scratch.app, password=scratch.password)
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()


def copy_first_row(conn: psycopg.Connection, table: str) -> int:
    """Insert a copy of the table's first row, as the application would insert a new one."""
    columns = [
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = %s AND column_name <> 'id' ORDER BY ordinal_position",
            [table],
        )
    ]
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    statement = sql.SQL("INSERT INTO {t} ({c}) SELECT {c} FROM {t} ORDER BY id LIMIT 1 RETURNING id")
    row = conn.execute(statement.format(t=sql.Identifier(table), c=names)).fetchone()
    assert row is not None
    return row[0]


def privileges(conn: psycopg.Connection, role: str) -> dict[tuple[str, str], bool]:
    """Every table privilege `role` holds in the schema: what grant_app_role decides."""
    rows = conn.execute(
        "SELECT c.relname, p.name, has_table_privilege(%s, c.oid, p.name) "
        "FROM pg_class c CROSS JOIN unnest(%s::text[]) AS p(name) "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'",
        [role, PRIVILEGES],
    )
    return {(table, privilege): held for table, privilege, held in rows}


def test_the_audit_tables_are_the_append_only_models():
    assert append_only_tables() == AUDIT_TABLES


@postgresql_only
@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_the_app_role_can_add_to_and_read_the_audit_record(table, as_app):
    new_id = copy_first_row(as_app, table)

    query = sql.SQL("SELECT count(*) FROM {} WHERE id = %s").format(sql.Identifier(table))
    assert as_app.execute(query, [new_id]).fetchone() == (1,)


# The trigger would refuse these too, with the same SQLSTATE: the message shows that the
# role's privileges refuse them first, so the grants are tested and not only the triggers.


@postgresql_only
@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_the_app_role_cannot_update_the_audit_record(table, as_app):
    with pytest.raises(errors.InsufficientPrivilege, match=f"permission denied for table {table}"):
        as_app.execute(sql.SQL("UPDATE {} SET created_at = now()").format(sql.Identifier(table)))


@postgresql_only
@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_the_app_role_cannot_delete_from_the_audit_record(table, as_app):
    with pytest.raises(errors.InsufficientPrivilege, match=f"permission denied for table {table}"):
        as_app.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))


@postgresql_only
@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_the_app_role_cannot_truncate_the_audit_record(table, as_app):
    with pytest.raises(errors.InsufficientPrivilege, match=f"permission denied for table {table}"):
        as_app.execute(sql.SQL("TRUNCATE {} CASCADE").format(sql.Identifier(table)))


@postgresql_only
@pytest.mark.parametrize("table", AUDIT_TABLES)
@pytest.mark.parametrize("trigger", ["append_only", "no_truncate"])
def test_the_app_role_cannot_disable_the_audit_triggers(table, trigger, as_app):
    statement = sql.SQL("ALTER TABLE {} DISABLE TRIGGER {}").format(
        sql.Identifier(table), sql.Identifier(f"{table}_{trigger}")
    )
    with pytest.raises(errors.InsufficientPrivilege, match="must be owner"):
        as_app.execute(statement)


@postgresql_only
@pytest.mark.parametrize("table", AUDIT_TABLES)
@pytest.mark.parametrize("trigger", ["append_only", "no_truncate"])
def test_the_app_role_cannot_drop_the_audit_triggers(table, trigger, as_app):
    statement = sql.SQL("DROP TRIGGER {} ON {}").format(
        sql.Identifier(f"{table}_{trigger}"), sql.Identifier(table)
    )
    with pytest.raises(errors.InsufficientPrivilege, match="must be owner"):
        as_app.execute(statement)


@postgresql_only
def test_the_app_role_cannot_switch_triggers_off_for_its_own_session(as_app):
    # session_replication_role = replica skips every ordinary trigger: a superuser's switch.
    with pytest.raises(errors.InsufficientPrivilege, match="session_replication_role"):
        as_app.execute("SET session_replication_role = replica")


@postgresql_only
def test_the_app_role_cannot_replace_the_function_a_trigger_calls(as_app):
    with pytest.raises(errors.InsufficientPrivilege, match=r"permission denied for schema|must be owner"):
        as_app.execute(
            "CREATE OR REPLACE FUNCTION ordinances_event_refuse_change() RETURNS trigger "
            "AS $$ BEGIN RETURN OLD; END; $$ LANGUAGE plpgsql"
        )


@postgresql_only
@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_the_app_role_cannot_drop_an_audit_table(table, as_app):
    with pytest.raises(errors.InsufficientPrivilege, match="must be owner"):
        as_app.execute(sql.SQL("DROP TABLE {} CASCADE").format(sql.Identifier(table)))


@postgresql_only
def test_the_app_role_can_update_and_delete_ordinary_records(as_app):
    updated = as_app.execute("UPDATE ordinances_request SET updated_at = now()")
    as_app.execute("DELETE FROM django_session")

    assert updated.rowcount > 0


@postgresql_only
@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_even_the_owner_cannot_truncate_the_audit_record(table, scratch):
    # Migration 0015's trigger: only a superuser gets through.
    with scratch.as_owner() as owner, pytest.raises(errors.InsufficientPrivilege, match="TRUNCATE refused"):
        owner.execute(sql.SQL("TRUNCATE {} CASCADE").format(sql.Identifier(table)))


@postgresql_only
def test_a_table_a_later_migration_adds_is_append_only_for_the_app_until_granted_again(scratch, as_app):
    table = unique("later")
    with scratch.as_owner() as owner:
        owner.execute(
            sql.SQL("CREATE TABLE {} (id serial PRIMARY KEY, note text)").format(sql.Identifier(table))
        )
    try:
        as_app.execute(sql.SQL("INSERT INTO {} (note) VALUES ('new')").format(sql.Identifier(table)))
        with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
            as_app.execute(sql.SQL("UPDATE {} SET note = 'changed'").format(sql.Identifier(table)))
    finally:
        as_app.rollback()  # its lock on the table would make DROP TABLE wait for ever
        with scratch.as_owner() as owner:
            owner.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))


@postgresql_only
def test_granting_again_gives_the_same_privileges_and_undoes_a_hand_made_grant(scratch):
    with scratch.as_owner() as owner:
        before = privileges(owner, scratch.app)
        owner.execute(sql.SQL("GRANT ALL ON ordinances_event TO {}").format(sql.Identifier(scratch.app)))

    done = scratch.grant(scratch.app)

    assert done.returncode == 0, done.stderr
    with scratch.as_owner() as owner:
        assert privileges(owner, scratch.app) == before
    assert not before[("ordinances_event", "UPDATE")]


@postgresql_only
def test_print_shows_the_sql_and_grants_nothing(scratch):
    done = scratch.grant(scratch.bystander, "--print")

    assert done.returncode == 0, done.stderr
    assert 'REVOKE UPDATE, DELETE ON TABLE "ordinances_event", ' in done.stdout
    with scratch.as_owner() as owner:
        assert not any(privileges(owner, scratch.bystander).values())


@postgresql_only
@pytest.mark.parametrize("who", ["owner", "superuser"])
def test_granting_to_the_tables_owner_or_a_superuser_is_refused(who, scratch):
    role = scratch.owner if who == "owner" else server()["user"]

    done = scratch.grant(role)

    assert done.returncode != 0
    assert {"owner": "owns the tables", "superuser": "is a superuser"}[who] in done.stderr


@pytest.mark.skipif(ON_POSTGRESQL, reason="the refusal is SQLite's; PostgreSQL is tested above")
def test_granting_on_sqlite_is_refused_with_a_reason():
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("grant_app_role", "portal_app")
