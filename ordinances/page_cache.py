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
- A hit must cost little more than the cheapest page (portal/bench.py). What is kept is the
  answer's bytes and headers (`Answer`), not a pickled response, with the ETag that
  `ConditionalGetMiddleware` would otherwise hash out of the body on every hit. Each process
  also keeps its most recent answers (`RecentAnswers`, a few MB), served only while the
  generation is still the one they were made in. With Redis, not even the generation crosses
  on such a hit: each process remembers it until Redis reports a change
  (`portal.cache.RedisCache.get_tracked`, server-assisted client-side caching), and Redis
  sends that news to every process before it answers the writer, so a change made in any
  process shows at once everywhere; a write in this process forgets it itself
  (`record_changed`). Whenever that news is uncertain (the tracking connection broke or
  could not be made), the generation is read on every hit, as in local memory. A
  generation starts at a random number, so one made after the shared cache was emptied (a
  restart of Redis) never matches a copy made before.
- The key of an answer is worked out from what earlier middleware has already checked (the
  host) and today's date, worked out again only when the day ends: a hit should cost no
  more than looking the answer up.
- A streamed answer (a download) is kept once it has been sent whole, if it came to no more
  than `MAX_STREAMED_BYTES`, and replayed as plain bytes; larger ones stream every time.

`last_write()` is the moment of the last committed change, for the database router that
sends anonymous reads to a replica only once it has replayed that far (`portal/db.py`).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.cache import has_vary_header, set_response_etag
from django.utils.translation import get_language

from ordinances.middleware import is_public_record

GENERATION_KEY = "portal:pages:generation"
LAST_WRITE_KEY = "portal:pages:last-write"
# The kept answers' keys carry the form they are kept in (`Answer`), so that a deployment
# that changes it never reads what an older one kept.
PAGE_KEY_PREFIX = "portal:page:2:"
# Rows that never show on a public page: the outbox and alert subscriptions change all the
# time (every delivery attempt) and must not empty the cache each time.
PRIVATE_MODELS = ("notification", "subscription")
# Cookies that make an answer the reader's own: a session (signed in, or a flash message
# kept in it) and flash messages kept in a cookie.
PERSONAL_COOKIES = (settings.SESSION_COOKIE_NAME, "messages")
# What each process keeps of its recent answers, in bytes of body; a single answer larger
# than an eighth of it is only kept in the shared cache.
RECENT_MAX_BYTES = 4 * 1024 * 1024
# A streamed download no larger than this is kept whole (the agencies', the technologies');
# the history of requests at a city's scale stays streamed.
MAX_STREAMED_BYTES = 1024 * 1024
# What middleware outside this one reads from an answer besides its headers: django-csp's
# per-view policy (`ordinances.middleware.allow_framing`) and the framing exemption.
CARRIED_ATTRIBUTES = (
    "_csp_exempt",
    "_csp_exempt_ro",
    "_csp_config",
    "_csp_config_ro",
    "_csp_update",
    "_csp_update_ro",
    "_csp_replace",
    "_csp_replace_ro",
    "xframe_options_exempt",
)


def _new_generation() -> int:
    # Random rather than 1: a generation made after the shared cache was emptied must not
    # match a process's copy of a page made before (`RecentAnswers`). 62 bits leave room to
    # count up.
    return secrets.randbits(62)


def generation() -> int:
    """The current generation of the public record (a new one in a cache that has none yet)."""
    value = cache.get(GENERATION_KEY)
    if value is None:
        cache.add(GENERATION_KEY, _new_generation(), timeout=None)
        value = cache.get(GENERATION_KEY, 0)
    return int(value)


def _current_generation() -> Any:
    """The generation, remembered by this process while Redis reports no change to it."""
    get_tracked = getattr(cache, "get_tracked", None)  # portal.cache.RedisCache
    return get_tracked(GENERATION_KEY) if get_tracked is not None else cache.get(GENERATION_KEY)


def record_changed() -> None:
    """The public record has changed: every cached page is now stale."""
    # The moment first: a reader who sees the new generation must also see the new moment,
    # or it could build the page from a replica that has not replayed the change yet
    # (portal/db.py) and keep it under the new generation.
    cache.set(LAST_WRITE_KEY, time.time(), timeout=None)
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # no generation yet: any new one differs from every page kept
        cache.add(GENERATION_KEY, _new_generation(), timeout=None)
    # Redis' message would tell this process too, but only at its next read: now, for certain.
    forget_tracked = getattr(cache, "forget_tracked", None)
    if forget_tracked is not None:
        forget_tracked(GENERATION_KEY)


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


# Today where the portal is, and the moment (seconds since the epoch) the day ends.
_today: tuple[str, float] = ("", 0.0)


def _local_day() -> str:
    """Today's date in the portal's time zone, worked out again only once the day is over."""
    global _today
    day, ends = _today
    if time.time() < ends:
        return day
    zone = timezone.get_default_timezone()
    today = timezone.localdate(timezone=zone)
    midnight = datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time(), tzinfo=zone)
    _today = (today.isoformat(), midnight.timestamp())
    return _today[0]


def key(request: HttpRequest) -> str:
    """The cache key of an answer: the day, the language and the address."""
    parts = [
        _local_day(),
        # What LocaleMiddleware activated (cheaper to read here than get_language()).
        getattr(request, "LANGUAGE_CODE", None) or get_language() or "",
        # CommonMiddleware, before this one, has checked it against ALLOWED_HOSTS already
        # (get_host() would check it again).
        request._get_raw_host(),  # type: ignore[attr-defined]
        request.get_full_path(),
        # The API chooses its format from Accept; a page does not, and every browser sends its own.
        request.headers.get("Accept", "") if request.path.startswith("/api/") else "",
    ]
    return PAGE_KEY_PREFIX + hashlib.sha256("\n".join(parts).encode()).hexdigest()


class Answer(NamedTuple):
    """What is kept of an answer: its bytes and headers, cheaper to read back than a response."""

    made_in: int  # the generation of the record it was made in
    expires: float  # seconds since the epoch, for a process's own copy
    status: int
    content: bytes
    headers: tuple[tuple[str, str], ...]
    attributes: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, response: HttpResponse, made_in: int, attributes: tuple[tuple[str, Any], ...]) -> Answer:
        # The ETag ConditionalGetMiddleware would otherwise hash out of the body on every hit
        # (the same value: this is its own function).
        if not response.has_header("ETag"):
            set_response_etag(response)
        return cls(
            made_in=made_in,
            expires=time.time() + settings.PORTAL_PAGE_CACHE_SECONDS,
            status=response.status_code,
            content=response.content,
            headers=tuple(response.items()),
            attributes=attributes,
        )

    def response(self) -> HttpResponse:
        """A new response, since the middleware outside this one adds to it."""
        response = HttpResponse(self.content, status=self.status, headers=dict(self.headers))
        for name, value in self.attributes:
            setattr(response, name, value)
        return response


class RecentAnswers:
    """
    A process's own copies of its most recent answers, the least recently used dropped past
    `max_bytes`. Whoever reads one checks its generation against the shared cache's.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._answers: OrderedDict[str, Answer] = OrderedDict()
        self._bytes = 0
        # gunicorn's threaded workers share a process.
        self._lock = threading.Lock()

    def get(self, page_key: str) -> Answer | None:
        with self._lock:
            answer = self._answers.get(page_key)
            if answer is not None:
                self._answers.move_to_end(page_key)
            return answer

    def put(self, page_key: str, answer: Answer) -> None:
        size = len(answer.content)
        if size > self.max_bytes // 8:
            return
        with self._lock:
            self._pop(page_key)
            self._answers[page_key] = answer
            self._bytes += size
            while self._bytes > self.max_bytes:
                self._pop(next(iter(self._answers)))

    def discard(self, page_key: str) -> None:
        with self._lock:
            self._pop(page_key)

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()
            self._bytes = 0

    def size(self) -> int:
        """Bytes of body kept."""
        return self._bytes

    def _pop(self, page_key: str) -> None:
        answer = self._answers.pop(page_key, None)
        if answer is not None:
            self._bytes -= len(answer.content)


recent = RecentAnswers(RECENT_MAX_BYTES)


def lookup(page_key: str) -> tuple[int, Answer | None]:
    """
    The current generation, and the answer kept under `page_key` if it was made in it.

    One round trip to the cache: the page is kept with the generation it was made in, and
    the two are read together, rather than the generation first and then a key made from it.
    When this process has its own copy of the page, only the generation is read, and with
    Redis not even that while Redis has sent no news of it (`portal.cache.RedisCache.get_tracked`).
    """
    own = recent.get(page_key)
    if own is not None:
        current = _current_generation()
        if current is not None and own.made_in == current and own.expires > time.time():
            return int(current), own
        recent.discard(page_key)
    found = cache.get_many([GENERATION_KEY, page_key])
    current = found.get(GENERATION_KEY)
    if current is None:
        current = generation()
    entry = found.get(page_key)
    if isinstance(entry, Answer) and entry.made_in == current:
        recent.put(page_key, entry)
        return int(current), entry
    return int(current), None


def keep(page_key: str, answer: Answer) -> None:
    """Keep an answer in the shared cache and in this process."""
    cache.set(page_key, answer, settings.PORTAL_PAGE_CACHE_SECONDS)
    recent.put(page_key, answer)


def _shareable(response: HttpResponseBase) -> bool:
    """Whether an answer is the same for every anonymous reader of its address."""
    if response.status_code != 200 or response.cookies:
        return False
    if not isinstance(response, HttpResponse | StreamingHttpResponse):
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


def _attributes(response: HttpResponseBase) -> tuple[tuple[str, Any], ...]:
    return tuple((name, getattr(response, name)) for name in CARRIED_ATTRIBUTES if hasattr(response, name))


def _kept_once_sent(
    chunks: Iterator[bytes], response: StreamingHttpResponse, page_key: str, made_in: int
) -> Iterator[bytes]:
    """
    The chunks of a streamed answer, passed on as they come and kept once the last is sent,
    unless they come to more than MAX_STREAMED_BYTES. A reader who stops early keeps nothing.
    """
    # The headers now, before the middleware outside this one adds its own to the response.
    status, headers, attributes = response.status_code, dict(response.items()), _attributes(response)

    def passed_on() -> Iterator[bytes]:
        kept: list[bytes] | None = []
        size = 0
        for chunk in chunks:
            yield chunk
            if kept is not None:
                size += len(chunk)
                if size > MAX_STREAMED_BYTES:
                    kept = None
                else:
                    kept.append(chunk)
        if kept is not None:
            whole = HttpResponse(b"".join(kept), status=status, headers=headers)
            keep(page_key, Answer.of(whole, made_in, attributes))

    return passed_on()


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
            if isinstance(response, StreamingHttpResponse):
                chunks = response.streaming_content
                if isinstance(chunks, Iterator):  # not an asynchronous one
                    response.streaming_content = _kept_once_sent(chunks, response, page_key, made_in)
            elif isinstance(response, HttpResponse):
                keep(page_key, Answer.of(response, made_in, _attributes(response)))
        return response

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponseBase | None:
        if settings.PORTAL_PAGE_CACHE_SECONDS <= 0:
            return None
        if any(name in request.COOKIES for name in PERSONAL_COOKIES) or not _cacheable(request):
            return None
        page_key = key(request)
        current, answer = lookup(page_key)
        if answer is not None:
            return answer.response()
        request._page_cache_miss = (page_key, current)  # type: ignore[attr-defined]
        return None
