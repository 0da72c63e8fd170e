from typing import Any

from django.apps import AppConfig
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate

# How many prepared statements psycopg keeps on a connection before it drops the least used
# (DATABASE_PREPARED_STATEMENTS, portal/settings.py). Its default, 100, is fewer than the
# public pages run between them (114 distinct queries for one visit of each page the benchmark
# measures), so a worker serving them all would keep dropping and preparing them again.
PREPARED_MAX = 300


def keep_prepared_statements(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """Let a new PostgreSQL connection that prepares statements keep `PREPARED_MAX` of them."""
    if connection.vendor == "postgresql" and connection.settings_dict["OPTIONS"].get("prepare_threshold"):
        connection.connection.prepared_max = PREPARED_MAX


class OrdinancesConfig(AppConfig):
    """Surveillance ordinances, the agencies they bind, and requests for exceptions."""

    name = "ordinances"
    verbose_name = "Surveillance oversight"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ordinances import page_cache
        from ordinances.roles import ensure_groups
        from portal import auth

        post_migrate.connect(ensure_groups, sender=self)
        connection_created.connect(keep_prepared_statements)
        page_cache.connect()
        # Sign-in stamps the session: the idle and total limits and re-authentication count from it.
        auth.connect()
