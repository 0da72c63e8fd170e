"""
The anonymous page cache: whole public answers kept in the shared cache, thrown away the
moment the record changes.

On the day a story breaks, thousands of residents ask for the same few pages. An answer
for an anonymous reader depends only on its address, its language, the day (deadlines
fall due with the calendar) and the public record, so it can be kept and served again
until the record changes:

- `PublicPageCacheMiddleware` looks an answer up before the view runs and stores the
  answers it may share: 200s of the public record (`middleware.is_public_record`) for a
  reader who sent no session or message cookie, that set no cookie and do not vary by one.
- Every page is kept with the *generation* of the record it was made in, and served only
  while that is still the current one. Any save or delete of a row of this app bumps it
  once the transaction commits (`on_commit`): the first reader after a decision gets a
  fresh page, and nothing rolled back ever discards a page. A bulk `update()` sends
  no signal; the keys' lifetime (`PORTAL_PAGE_CACHE_SECONDS`) bounds how long such a change
  can go unseen.
- The generation lives in the default cache: Redis in production (`REDIS_URL`), shared by
  every worker and host; local memory by default, which only one process sees, so without
  Redis a change made in another process shows once the keys expire.

`last_write()` is the moment of the last committed change, for the database router that
sends anonymous reads to a replica only once it has replayed that far (`portal/db.py`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone
from django.utils.cache import has_vary_header
from django.utils.translation import get_language

from ordinances.middleware import is_public_record

GENERATION_KEY = "portal:pages:generation"
LAST_WRITE_KEY = "portal:pages:last-write"
# Rows that never show on a public page: the outbox and alert subscriptions change all the
# time (every delivery attempt) and must not empty the cache each time.
PRIVATE_MODELS = ("notification", "subscription")
# Cookies that make an answer the reader's own: a session (signed in, or a flash message
# kept in it) and flash messages kept in a cookie.
PERSONAL_COOKIES = (settings.SESSION_COOKIE_NAME, "messages")


def generation() -> int:
    """The current generation of the public record (1 in a cache that has none yet)."""
    value = cache.get(GENERATION_KEY)
    if value is None:
        cache.add(GENERATION_KEY, 1, timeout=None)
        value = cache.get(GENERATION_KEY, 1)
    return int(value)


def record_changed() -> None:
    """The public record has changed: every cached page is now stale."""
    # The moment first: a reader who sees the new generation must also see the new moment,
    # or it could build the page from a replica that has not replayed the change yet
    # (portal/db.py) and keep it under the new generation.
    cache.set(LAST_WRITE_KEY, time.time(), timeout=None)
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # no generation yet: this is the first
        cache.add(GENERATION_KEY, 2, timeout=None)


def last_write() -> float | None:
    """Seconds since the epoch of the last committed change of the record, if one is known."""
    value = cache.get(LAST_WRITE_KEY)
    return float(value) if value is not None else None


def _on_change(sender: type[Model], using: str = "default", **kwargs: Any) -> None:
    if sender._meta.app_label != "ordinances" or sender._meta.model_name in PRIVATE_MODELS:
        return
    # After the commit, so a page built between the write and the commit cannot outlive it.
    transaction.on_commit(record_changed, using=using)


def connect() -> None:
    """Watch every model of the app (called from `OrdinancesConfig.ready`)."""
    for signal in (post_save, post_delete, m2m_changed):
        signal.connect(_on_change, dispatch_uid=f"page_cache.{signal!r}")


def key(request: HttpRequest) -> str:
    """The cache key of an answer: the day, the language and the address."""
    parts = [
        timezone.localdate().isoformat(),
        get_language() or "",
        request.get_host(),
        request.get_full_path(),
        # The API chooses its format from Accept; a page does not, and every browser sends its own.
        request.headers.get("Accept", "") if request.path.startswith("/api/") else "",
    ]
    return "portal:page:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()


def lookup(page_key: str) -> tuple[int, HttpResponseBase | None]:
    """
    The current generation, and the answer kept under `page_key` if it was made in it.

    One round trip to the cache: the page is kept with the generation it was made in, and
    the two are read together, rather than the generation first and then a key made from it.
    """
    found = cache.get_many([GENERATION_KEY, page_key])
    current = found.get(GENERATION_KEY)
    if current is None:
        current = generation()
    entry = found.get(page_key)
    if entry is not None and entry[0] == current:
        return int(current), entry[1]
    return int(current), None


def _shareable(response: HttpResponseBase) -> bool:
    """Whether an answer is the same for every anonymous reader of its address."""
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    if has_vary_header(response, "Cookie"):
        return False
    control = response.get("Cache-Control", "")
    return not any(word in control for word in ("private", "no-store", "no-cache"))


def _cacheable(request: HttpRequest) -> bool:
    """The public record's answers, and the site search's (the same for all who ask the same)."""
    if is_public_record(request):
        return True
    match = request.resolver_match
    return (
        match is not None
        and match.view_name == "ordinances:search"
        and request.method in ("GET", "HEAD")
        and not request.user.is_authenticated
    )


class PublicPageCacheMiddleware:
    """Serve an anonymous reader's public page from the cache, and keep the ones it may share."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        missed: tuple[str, int] | None = getattr(request, "_page_cache_miss", None)
        if missed is not None and _shareable(response):
            # Kept with the generation read before the view ran: if the record changed
            # meanwhile, the next reader finds it stale and builds the page again.
            page_key, made_in = missed
            cache.set(page_key, (made_in, response), settings.PORTAL_PAGE_CACHE_SECONDS)
        return response

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponseBase | None:
        if settings.PORTAL_PAGE_CACHE_SECONDS <= 0:
            return None
        if any(name in request.COOKIES for name in PERSONAL_COOKIES) or not _cacheable(request):
            return None
        page_key = key(request)
        current, cached = lookup(page_key)
        if cached is not None:
            return cached
        request._page_cache_miss = (page_key, current)  # type: ignore[attr-defined]
        return None
