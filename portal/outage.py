"""
A database outage answers 503, not 500: a plain page (templates/503.html) saying the portal
is briefly unavailable, with `Retry-After`, and no stack trace.

Django turns an exception raised anywhere under a middleware (the view, the session or user
lookup, the page cache, the freshness middleware's query) into the answer of `handler500`
(portal/urls.py) while that exception is still being handled, and logs it once at ERROR on
`django.request` with its traceback. `server_error` looks at the exception: one that says
the database could not be reached or used (django.db's OperationalError or InterfaceError,
psycopg's under them) becomes the 503; anything else stays the ordinary 500 page.

Nothing here queries the database: the page is rendered without the request, so no context
processor runs (the signed-in user, messages). Recovery needs nothing either: a connection that
failed is closed at the end of its request (Django closes unusable ones, and checks persistent
ones before reuse: CONN_HEALTH_CHECKS), so the first request after the database is back opens a
fresh one. docs/operations.md, "Database outages".
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext
from django.views import defaults

try:
    import psycopg
except ImportError:  # SQLite-only installations
    UNREACHABLE: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
else:
    UNREACHABLE = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)

# Seconds a client (or a crawler, or the load balancer) is asked to wait before trying again:
# long enough not to hammer a database on its way back, short next to a restart's length.
RETRY_AFTER_SECONDS = 30


def database_unreachable(error: BaseException | None) -> bool:
    """Whether `error`, or an exception it was raised from or while handling, says the database is unreachable."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, UNREACHABLE):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 answer: the plain page, or a JSON error for the API."""
    response: HttpResponse
    if request.path.startswith("/api/"):
        message = gettext("We cannot reach the portal's records right now. Please try again in a minute.")
        response = JsonResponse({"detail": message}, status=503)
    else:
        # No request: no context processors, which would ask the database who is signed in.
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # An outage's answer must never be kept by a browser, a proxy or the page cache.
    add_never_cache_headers(response)
    return response


def server_error(request: HttpRequest, template_name: str = defaults.ERROR_500_TEMPLATE_NAME) -> HttpResponse:
    """`handler500`: 503 while the database is unreachable, the ordinary 500 page otherwise."""
    if database_unreachable(sys.exc_info()[1]):
        return unavailable(request)
    return defaults.server_error(request, template_name)
