"""
Make the Event table append-only in the database itself, so neither a bug, a shell
session nor a raw SQL statement can rewrite the audit record.
"""

from django.db import migrations

SQLITE = [
    """
    CREATE TRIGGER ordinances_event_no_update BEFORE UPDATE ON ordinances_event
    BEGIN SELECT RAISE(ABORT, 'ordinances_event is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER ordinances_event_no_delete BEFORE DELETE ON ordinances_event
    BEGIN SELECT RAISE(ABORT, 'ordinances_event is append-only: DELETE refused'); END
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS ordinances_event_no_update",
    "DROP TRIGGER IF EXISTS ordinances_event_no_delete",
]

POSTGRESQL = [
    """
    CREATE FUNCTION ordinances_event_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'ordinances_event is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER ordinances_event_append_only
    BEFORE UPDATE OR DELETE ON ordinances_event
    FOR EACH ROW EXECUTE FUNCTION ordinances_event_refuse_change()
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS ordinances_event_append_only ON ordinances_event",
    "DROP FUNCTION IF EXISTS ordinances_event_refuse_change()",
]

STATEMENTS = {"sqlite": (SQLITE, SQLITE_REVERSE), "postgresql": (POSTGRESQL, POSTGRESQL_REVERSE)}


def run(forward: bool):
    def apply(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor not in STATEMENTS:
            raise RuntimeError(f"No append-only trigger for {vendor}; add one before using it.")
        for sql in STATEMENTS[vendor][0 if forward else 1]:
            # params=None: the PL/pgSQL body has a literal % that must not be read as a placeholder.
            schema_editor.execute(sql, params=None)

    return apply


class Migration(migrations.Migration):
    dependencies = [("ordinances", "0001_initial")]

    operations = [migrations.RunPython(run(True), run(False))]
