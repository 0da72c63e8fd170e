"""What every page needs to know about the deployment: which city the portal serves."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def portal(request: HttpRequest) -> dict[str, str]:
    return {"portal_city": settings.PORTAL_CITY}
