"""
The HTTP layer the public answers share: cross-origin reads of the open data, conditional
GET (`Last-Modified`, `ETag`, 304) and framing of the embeddable status widgets.

- `OpenDataCorsMiddleware`: `Access-Control-Allow-Origin: *` on GET and HEAD answers under
  `/api/` and at `/data.json`, and the answer to their preflight requests. Anyone's web page
  may read the open data; nothing else is opened to other origins. A middleware of a few
  lines rather than django-cors-headers: one fixed public origin (`*`), no credentials, two
  addresses, three methods; there is no list of origins to manage.
- `PublicLastModifiedMiddleware`: every public answer to an anonymous reader carries
  `Last-Modified`, the moment the public record last changed (`ordinances.freshness`), and
  a reader whose copy is as new gets 304 before the view runs. Django's
  `ConditionalGetMiddleware` (settings.MIDDLEWARE) adds a strong `ETag` to JSON and other
  non-streaming answers and answers `If-None-Match`; an HTML page holds a CSRF token that
  changes on every answer, so this middleware gives pages a weak `ETag` made from what
  they show instead. Signed-in users are left alone: their pages may show drafts.
- `frameable`: a view whose answers other sites may show in an `<iframe>` (`ordinances.embed`).
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, quote_etag
from django.utils.translation import get_language
from django.views.decorators.clickjacking import xframe_options_exempt

from ordinances import freshness

# ---------------------------------------------------------------------------
# Cross-origin reads of the open data
# ---------------------------------------------------------------------------

CORS_PATHS = re.compile(r"^/(api/|data\.json$)")
CORS_METHODS = ("GET", "HEAD")
# The headers a script may send (conditional requests among them) and read back.
CORS_REQUEST_HEADERS = "Accept, Accept-Language, Content-Language, If-Modified-Since, If-None-Match"
CORS_EXPOSED_HEADERS = "Content-Disposition, ETag, Last-Modified, Link, Retry-After"
PREFLIGHT_MAX_AGE = 60 * 60 * 24


class OpenDataCorsMiddleware:
    """Let any origin read `/api/` and `/data.json` with GET and HEAD, and nothing else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not CORS_PATHS.match(request.path_info):
            return self.get_response(request)
        if request.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.META:
            preflight = HttpResponse(status=204)
            preflight["Access-Control-Allow-Origin"] = "*"
            preflight["Access-Control-Allow-Methods"] = ", ".join((*CORS_METHODS, "OPTIONS"))
            preflight["Access-Control-Allow-Headers"] = CORS_REQUEST_HEADERS
            preflight["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
            return preflight
        response = self.get_response(request)
        if request.method in CORS_METHODS:
            response["Access-Control-Allow-Origin"] = "*"
            response["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
        return response


# ---------------------------------------------------------------------------
# Framing
# ---------------------------------------------------------------------------


# The site's Content-Security-Policy (settings.CONTENT_SECURITY_POLICY) with any site allowed
# to frame the answer; every other directive stays as strict.
FRAMEABLE_CSP = {"frame-ancestors": ["*"]}


def allow_framing(response: HttpResponseBase) -> HttpResponseBase:
    """Let any site show `response` in a frame: no `X-Frame-Options`, CSP `frame-ancestors *`."""
    response.xframe_options_exempt = True  # type: ignore[attr-defined]
    # What django-csp's `csp_replace` decorator sets, on the answer itself, so that a 304 made
    # before the view runs and a page replayed from the page cache (which carries it:
    # `page_cache.CARRIED_ATTRIBUTES`) keep it.
    response._csp_replace = FRAMEABLE_CSP  # type: ignore[attr-defined]
    return response


def frameable(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """
    A view whose answers any site may frame (every other answer keeps `X-Frame-Options:
    DENY`). Marked, so that a 304 answered before the view runs is frameable too: a
    browser merges a 304's headers into its stored copy.
    """
    exempt = xframe_options_exempt(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return allow_framing(exempt(request, *args, **kwargs))

    wrapper.frameable = True  # type: ignore[attr-defined]
    return wrapper


# ---------------------------------------------------------------------------
# Conditional GET
# ---------------------------------------------------------------------------

# The URL namespaces whose answers are the public record, and the names outside them.
CONDITIONAL_NAMESPACES = ("ordinances", "api")
CONDITIONAL_NAMES = ("data_catalog",)
# Answers left out: the health check must always answer afresh; a search is a question asked
# once, whose answer is worth no extra query.
NEVER_CONDITIONAL = ("healthz", "search")


def is_public_record(request: HttpRequest) -> bool:
    match = request.resolver_match
    if match is None or request.method not in ("GET", "HEAD"):
        return False
    if match.url_name in NEVER_CONDITIONAL:
        return False
    in_namespace = bool(match.namespaces) and match.namespaces[0] in CONDITIONAL_NAMESPACES
    if not in_namespace and match.view_name not in CONDITIONAL_NAMES:
        return False
    user = getattr(request, "user", None)
    return not (user is not None and user.is_authenticated)


def page_etag(request: HttpRequest, response: HttpResponseBase, moment: datetime.datetime) -> str:
    """
    A weak ETag for an HTML page: the same while the record (to the microsecond, finer than
    Last-Modified's second), the address, the language and the reader's CSRF secret (which
    the page's token is made from) stay the same.
    """
    parts = [
        moment.isoformat(),
        request.get_full_path(),
        get_language() or "",
        response.get("Content-Type", ""),
        # The CSRF secret the page's token was made from: the cookie sent, or the one it sets.
        request.META.get("CSRF_COOKIE", ""),
    ]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
    return "W/" + quote_etag(digest)


class PublicLastModifiedMiddleware:
    """`Last-Modified` on the public record's answers, and 304 before the view runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        moment: datetime.datetime | None = getattr(request, "_public_record_changed_at", None)
        if moment is None or not 200 <= response.status_code < 300:
            return response
        if "no-store" in response.get("Cache-Control", ""):
            return response
        if not response.has_header("Last-Modified"):
            response["Last-Modified"] = http_date(int(moment.timestamp()))
        is_page = response.get("Content-Type", "").startswith("text/html")
        if is_page and not response.streaming and not response.has_header("ETag"):
            response["ETag"] = page_etag(request, response, moment)
        return response

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponseBase | None:
        if not is_public_record(request):
            return None
        moment = freshness.for_request(request).page
        request._public_record_changed_at = moment  # type: ignore[attr-defined]
        # Only If-Modified-Since can be answered here; If-None-Match needs the answer's ETag.
        seconds = int(moment.timestamp())
        answer = get_conditional_response(request, last_modified=seconds)
        if answer is None:
            return None
        if answer.status_code == 304:
            answer["Last-Modified"] = http_date(seconds)
            if getattr(view_func, "frameable", False):
                allow_framing(answer)
        return answer
