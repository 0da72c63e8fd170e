from django.apps import AppConfig
from django.db.models.signals import post_migrate


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
        page_cache.connect()
        # Sign-in stamps the session: the idle and total limits and re-authentication count from it.
        auth.connect()
