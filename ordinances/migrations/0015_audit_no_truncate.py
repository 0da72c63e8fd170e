"""
Refuse TRUNCATE on the append-only tables. The row triggers of migrations 0002 and 0012 do
not fire for TRUNCATE, which empties a table in one statement; a statement trigger does.

A superuser is let through: a superuser can drop any trigger anyway, so refusing would
protect nothing, and the test suite's flush (run as one) truncates every table between
transactional tests. The application must therefore never connect as a superuser
(docs/deployment.md gives its role and GRANTs). SQLite has no TRUNCATE.
"""

from django.db import migrations

TABLES = ["ordinances_event", "ordinances_ordinancechange", "ordinances_oversightevent"]

FUNCTION = """
    CREATE FUNCTION ordinances_refuse_truncate() RETURNS trigger AS $$
    BEGIN
        IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql
"""

FORWARD = [FUNCTION] + [
    f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
    "FOR EACH STATEMENT EXECUTE FUNCTION ordinances_refuse_truncate()"
    for table in TABLES
]
REVERSE = [f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}" for table in TABLES] + [
    "DROP FUNCTION IF EXISTS ordinances_refuse_truncate()"
]


def run(statements: list[str]):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            # params=None: the PL/pgSQL body has a literal % that must not be read as a placeholder.
            schema_editor.execute(sql, params=None)

    return apply


class Migration(migrations.Migration):
    dependencies = [("ordinances", "0014_home_indexes")]

    operations = [migrations.RunPython(run(FORWARD), run(REVERSE))]
