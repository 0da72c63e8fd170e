"""
Give the role the application connects as exactly the privileges it needs on PostgreSQL, and
no more: normal reads and writes on ordinary tables, but only SELECT and INSERT on the
append-only audit tables, and nothing that only an owner may do (ALTER, DROP, TRUNCATE,
disabling or dropping a trigger). See docs/deployment.md, "Database roles".

Run it as the role that owns the tables (the one `migrate` runs as), after every `migrate`:

    DATABASE_URL=postgres://portal_owner@db/portal python manage.py migrate
    DATABASE_URL=postgres://portal_owner@db/portal python manage.py grant_app_role portal_app
    python manage.py grant_app_role portal_app --print     # the SQL, not run

Idempotent: it first revokes everything the role holds on the schema's tables and sequences,
then grants, in one transaction. Tables a later migration creates get SELECT and INSERT only
(default privileges), so a new append-only table is never writable by the application, even
before this command runs again; re-running it gives a new ordinary table UPDATE and DELETE.
"""

from __future__ import annotations

import re
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from ordinances.models import AppendOnlyModel

# Plain lower-case names only: they go into SQL as identifiers.
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Read by the application (its check for unapplied migrations), written only by `migrate`.
READ_ONLY_TABLES = ["django_migrations"]


def append_only_tables() -> list[str]:
    """Every table of an `AppendOnlyModel`: the audit record."""
    return sorted(
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, AppendOnlyModel) and not model._meta.proxy
    )


def statements(role: str, owner: str, schema: str, database: str, quote: Any) -> list[str]:
    """The GRANT and REVOKE statements, in order. `quote` quotes an identifier."""
    r, o, s = quote(role), quote(owner), quote(schema)
    audit = ", ".join(quote(table) for table in append_only_tables())
    read_only = ", ".join(quote(table) for table in READ_ONLY_TABLES)
    return [
        f"GRANT CONNECT ON DATABASE {quote(database)} TO {r}",
        f"GRANT USAGE ON SCHEMA {s} TO {r}",
        f"REVOKE CREATE ON SCHEMA {s} FROM {r}",
        # Start from nothing, so running twice (or after a hand-made GRANT) gives the same result.
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}",
        # The audit record: added to, never rewritten. Without ownership the role cannot
        # disable or drop the triggers either, and without TRUNCATE it cannot empty them.
        f"REVOKE UPDATE, DELETE ON TABLE {audit} FROM {r}",
        f"REVOKE INSERT, UPDATE, DELETE ON TABLE {read_only} FROM {r}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
        # Tables a later migration creates: readable and insertable at once, UPDATE and DELETE
        # only once this command runs again, so a new audit table is never rewritable.
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} REVOKE ALL ON TABLES FROM {r}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT SELECT, INSERT ON TABLES TO {r}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {r}",
    ]


def _one(connection: BaseDatabaseWrapper, sql: str, params: list[Any]) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


class Command(BaseCommand):
    help = (
        "On PostgreSQL, grant the application's database role normal access to ordinary tables "
        "and only SELECT and INSERT on the append-only audit tables. Run as the tables' owner "
        "after every migrate. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="The role the application connects as, e.g. portal_app.")
        parser.add_argument(
            "--print",
            action="store_true",
            dest="print_only",
            help="Print the SQL instead of running it.",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias. Default: default.")

    def handle(self, *args: object, **options: Any) -> None:
        role: str = options["role"]
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            raise CommandError(
                f"grant_app_role needs PostgreSQL; this database is {connection.vendor}, which has no "
                "roles to grant to. Point DATABASE_URL at PostgreSQL as the tables' owner."
            )
        if not ROLE_NAME.match(role):
            raise CommandError(f"{role!r} is not a plain role name (lower-case letters, digits, _).")

        audit = append_only_tables()
        existing = set(connection.introspection.table_names())
        missing = [table for table in [*audit, *READ_ONLY_TABLES] if table not in existing]
        if missing:
            raise CommandError(f"Tables missing: {', '.join(missing)}. Run `manage.py migrate` first.")

        owner = _one(connection, "SELECT tableowner FROM pg_tables WHERE tablename = %s", [audit[0]])
        schema = _one(connection, "SELECT current_schema()", [])
        database = _one(connection, "SELECT current_database()", [])
        superuser = _one(connection, "SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        if superuser is None:
            raise CommandError(f"No role {role!r}. Create it first: CREATE ROLE {role} LOGIN PASSWORD '...';")
        if superuser:
            raise CommandError(f"{role} is a superuser: no privilege can be taken from it. Use a plain role.")
        if _one(connection, "SELECT pg_has_role(%s, %s, 'MEMBER')", [role, owner]):
            raise CommandError(
                f"{role} owns the tables or is a member of their owner {owner}: it could alter or drop "
                "the audit triggers. The application needs a role of its own."
            )

        sql = statements(role, owner, schema, database, connection.ops.quote_name)
        if options["print_only"]:
            self.stdout.write(";\n".join(sql) + ";")
            return
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            for statement in sql:
                cursor.execute(statement)
        self.stdout.write(
            f"{role}: SELECT, INSERT, UPDATE, DELETE on the tables of schema {schema}, "
            f"SELECT and INSERT only on {', '.join(audit)}; SELECT only on {', '.join(READ_ONLY_TABLES)}."
        )
