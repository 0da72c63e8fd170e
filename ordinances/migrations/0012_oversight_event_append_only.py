"""
Make the OversightEvent table append-only in the database itself, as migration 0002 does
for the request Event table. (TRUNCATE is left to the database roles: the test suite's
flush truncates every table between transactional tests.) Also moves conditions recorded as "not met" to
"overdue", the status that replaced it.
"""

from django.db import migrations

TABLE = "ordinances_oversightevent"

SQLITE = [
    f"""
    CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: UPDATE refused'); END
    """,
    f"""
    CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: DELETE refused'); END
    """,
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS {TABLE}_no_update",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_delete",
]

POSTGRESQL = [
    f"""
    CREATE FUNCTION {TABLE}_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '{TABLE} is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE TRIGGER {TABLE}_append_only
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {TABLE}_refuse_change()
    """,
]
POSTGRESQL_REVERSE = [
    f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}",
    f"DROP FUNCTION IF EXISTS {TABLE}_refuse_change()",
]

STATEMENTS = {"sqlite": (SQLITE, SQLITE_REVERSE), "postgresql": (POSTGRESQL, POSTGRESQL_REVERSE)}


def run(forward: bool):
    def apply(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor not in STATEMENTS:
            raise RuntimeError(f"No append-only trigger for {vendor}; add one before using it.")
        for sql in STATEMENTS[vendor][0 if forward else 1]:
            schema_editor.execute(sql, params=None)

    return apply


def not_met_to_overdue(apps, schema_editor):
    apps.get_model("ordinances", "Condition").objects.filter(status="not_met").update(status="overdue")


def overdue_to_not_met(apps, schema_editor):
    apps.get_model("ordinances", "Condition").objects.filter(status="overdue").update(status="not_met")


class Migration(migrations.Migration):
    dependencies = [("ordinances", "0011_workspace")]

    operations = [
        migrations.RunPython(run(True), run(False)),
        migrations.RunPython(not_met_to_overdue, overdue_to_not_met),
    ]
