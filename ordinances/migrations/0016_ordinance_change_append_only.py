"""
Make the OrdinanceChange table (an ordinance's public change history) append-only in the
database itself, as migrations 0002 and 0012 do for the two event tables; 0015 already
refuses TRUNCATE on it.

Its ordinance is now PROTECTed rather than CASCADEd: a cascade would delete the history
with the ordinance, which the trigger now refuses with a database error (a 500 in the
admin); PROTECT makes the admin say plainly that an ordinance with a history stays.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "ordinances_ordinancechange"

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
            # params=None: the PL/pgSQL body has a literal % that must not be read as a placeholder.
            schema_editor.execute(sql, params=None)

    return apply


class Migration(migrations.Migration):
    dependencies = [("ordinances", "0015_audit_no_truncate")]

    operations = [
        migrations.AlterField(
            model_name="ordinancechange",
            name="ordinance",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="changes",
                to="ordinances.ordinance",
            ),
        ),
        migrations.RunPython(run(True), run(False)),
    ]
