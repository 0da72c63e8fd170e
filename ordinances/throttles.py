"""
How often an anonymous client may call the public API (settings.REST_FRAMEWORK).

DRF's `AnonRateThrottle` counts each client's calls in Django's default cache: local memory
in one process by default, Redis shared by every worker when `REDIS_URL` is set
(settings.CACHES). Past the rate a call is answered 429 with `Retry-After`.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle


class PublicAnonRateThrottle(AnonRateThrottle):
    """
    `AnonRateThrottle` reading its rate when it counts, not once at import: DRF keeps the
    rates it read at start-up on the class, so a changed setting (a test's) would be ignored.
    """

    def get_rate(self) -> str | None:
        rates = api_settings.DEFAULT_THROTTLE_RATES
        if self.scope not in rates:
            raise ImproperlyConfigured(
                f"REST_FRAMEWORK's DEFAULT_THROTTLE_RATES has no rate for {self.scope!r}."
            )
        return rates[self.scope]
