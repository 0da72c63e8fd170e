"""The anonymous page cache (ordinances/page_cache.py): what it keeps, for whom, and when it forgets."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ordinances import page_cache, workflow
from ordinances.models import Agency
from portal.cache import RedisCache, stop_tracking
from tests.test_cache import REDIS_URL, redis_is_running

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def page_cache_on(settings):
    settings.PORTAL_PAGE_CACHE_SECONDS = 300


@pytest.fixture
def hearing_held(make_request):
    """A request whose hearing was held five days ago, ready for the council's vote."""
    return make_request("hearing_scheduled")


def queries_for(client: Client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def approve(req, staff, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        workflow.perform(
            "approve",
            req,
            by=staff,
            now=timezone.now() - datetime.timedelta(days=4),
            votes_yes=9,
            votes_no=3,
        )


def test_a_second_anonymous_visit_is_answered_without_a_query(client, hearing_held):
    url = hearing_held.get_absolute_url()
    first, _ = queries_for(client, url)
    second, _ = queries_for(client, url)
    assert first > 0
    assert second == 0


def test_a_cached_page_is_the_same_page(client, hearing_held):
    url = hearing_held.get_absolute_url()
    fresh = client.get(url)
    cached = client.get(url)
    assert cached.content == fresh.content
    assert cached["Content-Type"] == fresh["Content-Type"]
    assert cached["Last-Modified"] == fresh["Last-Modified"]


def test_a_decision_by_staff_shows_at_once_on_the_cached_pages(
    client, hearing_held, staff, django_capture_on_commit_callbacks
):
    pages = [
        hearing_held.get_absolute_url(),
        reverse("ordinances:request_list"),
        reverse("api:request-detail", args=[hearing_held.reference]),
    ]
    before = [client.get(url).content for url in pages]
    assert all(b"Hearing scheduled" in page or b"hearing_scheduled" in page for page in before)

    approve(hearing_held, staff, django_capture_on_commit_callbacks)

    for url in pages:
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url).content
        assert len(queries) > 0, f"{url} came from the cache"
        assert b"Approved" in page or b'"approved"' in page


def test_a_change_that_rolls_back_keeps_the_cached_pages(
    client, hearing_held, django_capture_on_commit_callbacks
):
    url = hearing_held.get_absolute_url()
    client.get(url)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        agency = Agency.objects.get(pk=hearing_held.agency_id)
        agency.name = "Renamed"
        agency.save()
        transaction.set_rollback(True)
    second, _ = queries_for(client, url)
    assert second == 0


def test_a_committed_change_records_the_moment_of_the_last_write(
    hearing_held, django_capture_on_commit_callbacks
):
    before = page_cache.last_write()
    with django_capture_on_commit_callbacks(execute=True):
        Agency.objects.filter(pk=hearing_held.agency_id).get().save()
    after = page_cache.last_write()
    assert after is not None
    assert before is None or after >= before


def test_a_signed_in_user_is_never_served_from_the_cache(client, hearing_held, staff):
    url = hearing_held.get_absolute_url()
    client.get(url)
    client.force_login(staff)
    second, _ = queries_for(client, url)
    assert second > 0


def test_a_signed_in_users_page_is_never_kept_for_others(client, hearing_held, liaison_a):
    url = hearing_held.get_absolute_url()
    client.force_login(liaison_a)
    client.get(url)
    client.logout()
    anonymous, _ = queries_for(Client(), url)
    assert anonymous > 0


def test_each_language_has_its_own_cached_page(client, hearing_held):
    url = hearing_held.get_absolute_url()
    english = client.get(url).content
    spanish = client.get("/es" + url).content
    assert b'lang="es"' in spanish
    assert english != spanish


def test_a_page_that_sets_a_cookie_is_not_kept(client, make_request):
    commenting = make_request("public_comment")
    url = reverse("ordinances:request_comment", args=[commenting.reference])
    client.get(url)
    second, _ = queries_for(Client(), url)
    assert second > 0


def test_a_search_is_kept_for_the_next_reader_who_asks_the_same(client, hearing_held):
    client.get(reverse("ordinances:search"), {"q": "drone"})
    second, _ = queries_for(Client(), reverse("ordinances:search") + "?q=drone")
    assert second == 0


def test_the_health_check_is_never_cached(client, db):
    client.get(reverse("ordinances:healthz"))
    second, _ = queries_for(client, reverse("ordinances:healthz"))
    assert second > 0


def test_with_the_lifetime_at_zero_nothing_is_kept(client, hearing_held, settings):
    settings.PORTAL_PAGE_CACHE_SECONDS = 0
    url = hearing_held.get_absolute_url()
    client.get(url)
    second, _ = queries_for(client, url)
    assert second > 0


def test_a_cached_page_still_answers_304_to_its_etag(client, hearing_held):
    url = hearing_held.get_absolute_url()
    etag = client.get(url)["ETag"]
    answer = client.get(url, headers={"if-none-match": etag})
    assert answer.status_code == 304


def test_public_pages_carry_no_csrf_token_so_every_reader_shares_them(client, hearing_held):
    response = client.get(hearing_held.get_absolute_url())
    assert b"csrfmiddlewaretoken" not in response.content
    assert "csrftoken" not in response.cookies


def test_the_language_buttons_work_without_a_csrf_token(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("set_language"), {"language": "es", "next": "/requests/"})
    assert response.status_code == 302
    assert response["Location"] == "/es/requests/"


def test_the_alert_form_on_public_pages_posts_without_a_csrf_token(hearing_held):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("ordinances:alert_subscribe"),
        {"topic": "request", "target": hearing_held.reference, "email": "resident@example.org"},
    )
    assert response.status_code == 302


def agencies_csv() -> str:
    return reverse("ordinances:download", kwargs={"dataset": "agencies", "fmt": "csv"})


def test_a_process_never_serves_its_own_copy_once_another_process_changed_the_record(client, hearing_held):
    url = hearing_held.get_absolute_url()
    client.get(url)
    # What another worker's committed change does: the shared generation moves on, and this
    # process's copy of the page stays where it is.
    cache.incr(page_cache.GENERATION_KEY)
    again, _ = queries_for(client, url)
    assert again > 0


def test_no_copy_made_before_the_shared_cache_was_emptied_is_served_after(client, hearing_held):
    url = hearing_held.get_absolute_url()
    client.get(url)
    cache.clear()  # Redis restarted
    page_cache.generation()  # and another process has begun the generations again
    again, _ = queries_for(client, url)
    assert again > 0


def test_a_process_serves_its_own_copy_without_reading_the_page_from_the_shared_cache(client, hearing_held):
    url = hearing_held.get_absolute_url()
    fresh = client.get(url).content
    with mock.patch.object(cache, "get_many", side_effect=AssertionError("the page was read")):
        count, cached = queries_for(client, url)
    assert count == 0
    assert cached.encode() == fresh


def test_a_page_kept_by_another_process_is_served_from_the_shared_cache(client, hearing_held):
    url = hearing_held.get_absolute_url()
    fresh = client.get(url).content
    page_cache.recent.clear()  # as in a worker that never built the page
    count, cached = queries_for(client, url)
    assert count == 0
    assert cached.encode() == fresh


def test_a_cached_json_answer_has_the_etag_it_has_without_the_cache_and_answers_304_to_it(
    client, hearing_held, settings
):
    url = reverse("api:request-detail", args=[hearing_held.reference])
    settings.PORTAL_PAGE_CACHE_SECONDS = 0
    uncached = client.get(url)
    settings.PORTAL_PAGE_CACHE_SECONDS = 300
    client.get(url)
    cached = client.get(url)
    assert cached["ETag"] == uncached["ETag"]
    assert cached.content == uncached.content
    assert client.get(url, headers={"if-none-match": uncached["ETag"]}).status_code == 304


def test_a_small_streamed_download_is_kept_and_replayed_whole(client, hearing_held):
    fresh = client.get(agencies_csv())
    assert fresh.streaming
    body = b"".join(fresh.streaming_content)
    count, cached = queries_for(client, agencies_csv())
    assert count == 0
    assert cached.encode() == body


def test_a_streamed_download_past_the_limit_is_not_kept(client, hearing_held, monkeypatch):
    monkeypatch.setattr(page_cache, "MAX_STREAMED_BYTES", 10)
    b"".join(client.get(agencies_csv()).streaming_content)
    again = client.get(agencies_csv())
    assert again.streaming


def test_a_download_the_reader_stopped_early_is_not_kept(db):
    made_in = page_cache.generation()
    response = StreamingHttpResponse(iter([b"first,", b"second"]), content_type="text/csv")
    sent = page_cache._kept_once_sent(iter([b"first,", b"second"]), response, "portal:page:test", made_in)
    assert next(sent) == b"first,"
    # The reader hung up: the server closes the stream, as WSGI servers do.
    sent.close()
    assert page_cache.lookup("portal:page:test") == (made_in, None)


def answer(size: int) -> page_cache.Answer:
    return page_cache.Answer(
        made_in=1, expires=0.0, status=200, content=b"x" * size, headers=(), attributes=()
    )


def test_a_process_keeps_its_recent_answers_within_its_bound_dropping_the_least_used():
    recent = page_cache.RecentAnswers(max_bytes=800)
    for name in "abcd":
        recent.put(name, answer(100))
    recent.get("a")
    for name in "efghi":
        recent.put(name, answer(100))
    assert recent.size() <= 800
    assert recent.get("a") is not None
    assert recent.get("b") is None


def test_a_process_does_not_keep_an_answer_too_large_for_its_share():
    recent = page_cache.RecentAnswers(max_bytes=800)
    recent.put("big", answer(101))
    assert recent.get("big") is None


# With Redis, as in production: each process remembers the generation until Redis says it changed.


@pytest.fixture
def redis_pages(monkeypatch):
    """The page cache in Redis (db 13), and a client of the same Redis as another worker holds it."""
    if not redis_is_running():
        pytest.skip(f"no Redis at {REDIS_URL}")
    stop_tracking()
    shared = RedisCache(REDIS_URL, {"KEY_PREFIX": "portal-test-pages"})
    monkeypatch.setattr(page_cache, "cache", shared)
    page_cache.recent.clear()
    yield RedisCache(REDIS_URL, {"KEY_PREFIX": "portal-test-pages"})
    stop_tracking()
    page_cache.recent.clear()
    shared.clear()


def redis_commands(cache: RedisCache) -> mock.MagicMock:
    client = cache._cache.get_client()
    return mock.patch.object(client, "execute_command", wraps=client.execute_command)


def test_with_redis_a_process_serves_its_own_copy_without_a_redis_command(client, hearing_held, redis_pages):
    url = hearing_held.get_absolute_url()
    fresh = client.get(url).content
    client.get(url)
    with redis_commands(page_cache.cache) as sent:
        count, cached = queries_for(client, url)
    assert (count, sent.call_count) == (0, 0)
    assert cached.encode() == fresh


def test_with_redis_a_change_made_by_another_worker_shows_on_the_next_page(client, hearing_held, redis_pages):
    url = hearing_held.get_absolute_url()
    client.get(url)
    client.get(url)
    redis_pages.incr(page_cache.GENERATION_KEY)  # another worker's committed change
    again, _ = queries_for(client, url)
    assert again > 0


def test_with_redis_a_decision_by_staff_shows_at_once(
    client, hearing_held, staff, django_capture_on_commit_callbacks, redis_pages
):
    url = hearing_held.get_absolute_url()
    client.get(url)
    client.get(url)
    approve(hearing_held, staff, django_capture_on_commit_callbacks)
    again, page = queries_for(client, url)
    assert again > 0
    assert "Approved" in page


def test_with_redis_a_broken_tracking_connection_falls_back_to_asking_redis_on_every_page(
    client, hearing_held, redis_pages
):
    url = hearing_held.get_absolute_url()
    client.get(url)
    client.get(url)
    tracked = page_cache.cache._tracked_key(page_cache.GENERATION_KEY)
    redis_pages._cache.get_client().client_kill_filter(_id=tracked.client_id)
    client.get(url)
    with redis_commands(page_cache.cache) as sent:
        client.get(url)
        client.get(url)
    assert sent.call_count == 2
    redis_pages.incr(page_cache.GENERATION_KEY)
    again, _ = queries_for(client, url)
    assert again > 0


def test_with_redis_no_copy_is_served_once_redis_was_emptied(client, hearing_held, redis_pages):
    url = hearing_held.get_absolute_url()
    client.get(url)
    client.get(url)
    redis_pages.clear()  # FLUSHDB, as FLUSHALL: Redis sends a null message to every tracking connection
    redis_pages._cache.get_client().ping()  # which went out before this answer
    again, _ = queries_for(client, url)
    assert again > 0
