"""portal.cache.RedisCache: Django's Redis cache, with one client object per connection pool and tracked keys."""

from __future__ import annotations

import os
import socket
import time
from unittest import mock

import pytest

from ordinances import page_cache
from portal import cache as portal_cache
from portal.cache import RedisCache, stop_tracking

REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def redis_is_running() -> bool:
    host, port = REDIS_URL.split("//", 1)[1].split("/", 1)[0].split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not redis_is_running(), reason=f"no Redis at {REDIS_URL}")


@pytest.fixture
def redis_cache():
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": "portal-test-cache"})
    yield cache
    cache.clear()


def test_the_cache_keeps_and_returns_values(redis_cache):
    redis_cache.set_many({"a": ("tuple", 1), "b": b"bytes"}, 30)
    assert redis_cache.get_many(["a", "b", "missing"]) == {"a": ("tuple", 1), "b": b"bytes"}


def test_the_cache_reuses_one_client_for_reads_and_writes_to_one_server(redis_cache):
    client = redis_cache._cache.get_client()
    assert redis_cache._cache.get_client(write=True) is client
    redis_cache.set("k", 1, 30)
    assert redis_cache._cache.get_client() is client


def test_a_kept_page_comes_back_from_redis_as_it_went_in(redis_cache):
    answer = page_cache.Answer(
        made_in=7,
        expires=1.0,
        status=200,
        content=b"<p>page</p>",
        headers=(("Content-Type", "text/html; charset=utf-8"),),
        attributes=(("_csp_replace", {"frame-ancestors": ["*"]}),),
    )
    redis_cache.set("page", answer, 30)
    back = redis_cache.get("page")
    assert isinstance(back, page_cache.Answer)
    assert back == answer


def test_a_generation_begun_at_random_counts_up_in_redis(redis_cache):
    start = page_cache._new_generation()
    redis_cache.add("generation", start, timeout=None)
    redis_cache.incr("generation")
    assert redis_cache.get("generation") == start + 1


@pytest.fixture
def tracking_cache():
    """A Redis cache whose tracked keys start afresh, and a client of another process."""
    stop_tracking()
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": "portal-test-tracking"})
    other = RedisCache(REDIS_URL, {"KEY_PREFIX": "portal-test-tracking"})
    cache.set("generation", 1, None)
    yield cache, other
    stop_tracking()
    cache.clear()


def commands_sent(cache: RedisCache) -> mock.MagicMock:
    client = cache._cache.get_client()
    return mock.patch.object(client, "execute_command", wraps=client.execute_command)


def test_a_tracked_key_is_read_once_while_redis_reports_no_change(tracking_cache):
    cache, _ = tracking_cache
    assert cache.get_tracked("generation") == 1
    with commands_sent(cache) as sent:
        assert cache.get_tracked("generation") == 1
        assert cache.get_tracked("generation") == 1
    assert sent.call_count == 0


def test_a_tracked_key_written_by_another_process_is_read_again_at_once(tracking_cache):
    cache, other = tracking_cache
    cache.get_tracked("generation")
    other.incr("generation")
    assert cache.get_tracked("generation") == 2


def test_a_tracked_key_is_forgotten_when_its_database_is_emptied(tracking_cache):
    cache, other = tracking_cache
    cache.get_tracked("generation")
    other.clear()  # FLUSHDB: Redis sends every tracking connection a null message
    other._cache.get_client().ping()  # the message went out before this answer
    assert cache.get_tracked("generation") is None


def test_a_tracked_key_whose_connection_broke_is_read_from_redis_every_time(tracking_cache):
    cache, other = tracking_cache
    cache.get_tracked("generation")
    tracked = cache._tracked_key("generation")
    other._cache.get_client().client_kill_filter(_id=tracked.client_id)
    with commands_sent(cache) as sent:
        for _ in range(3):
            assert cache.get_tracked("generation") == 1
    assert sent.call_count == 3
    assert not tracked.tracking()


def test_a_broken_tracking_connection_is_made_again_after_a_pause(tracking_cache, monkeypatch):
    cache, other = tracking_cache
    cache.get_tracked("generation")
    tracked = cache._tracked_key("generation")
    other._cache.get_client().client_kill_filter(_id=tracked.client_id)
    cache.get_tracked("generation")
    later = time.monotonic() + 2 * portal_cache.RETRY_FIRST_SECONDS
    monkeypatch.setattr(portal_cache.time, "monotonic", lambda: later)
    cache.get_tracked("generation")
    assert tracked.tracking()
    with commands_sent(cache) as sent:
        cache.get_tracked("generation")
    assert sent.call_count == 0


def test_a_remembered_value_is_read_again_after_a_while_whatever_the_connection_says(
    tracking_cache, monkeypatch
):
    cache, _ = tracking_cache
    cache.get_tracked("generation")
    later = time.monotonic() + 2 * portal_cache.TRUST_SECONDS
    monkeypatch.setattr(portal_cache.time, "monotonic", lambda: later)
    with commands_sent(cache) as sent:
        cache.get_tracked("generation")
    assert sent.call_count == 1


def test_a_value_that_changed_without_a_message_stops_the_tracking(tracking_cache, monkeypatch):
    cache, other = tracking_cache
    cache.get_tracked("generation")
    tracked = cache._tracked_key("generation")
    # A connection that died without a word: its messages never come.
    monkeypatch.setattr(tracked, "_poll", lambda: None)
    other.incr("generation")
    later = time.monotonic() + 2 * portal_cache.TRUST_SECONDS
    monkeypatch.setattr(portal_cache.time, "monotonic", lambda: later)
    assert cache.get_tracked("generation") == 2
    monkeypatch.undo()
    assert not tracked.tracking()


def test_a_forked_worker_makes_its_own_tracking_connection(tracking_cache, monkeypatch):
    cache, _ = tracking_cache
    cache.get_tracked("generation")
    parents = cache._tracked_key("generation")
    monkeypatch.setattr(portal_cache.os, "getpid", lambda: -1)
    assert cache.get_tracked("generation") == 1
    childs = cache._tracked_key("generation")
    assert childs is not parents
    assert childs.client_id != parents.client_id


def test_a_cache_without_tracking_reads_redis_every_time(tracking_cache, monkeypatch):
    cache, _ = tracking_cache
    monkeypatch.setattr(portal_cache.RedisCacheClient, "tracking_connection", mock.Mock(side_effect=OSError))
    with commands_sent(cache) as sent:
        for _ in range(3):
            assert cache.get_tracked("generation") == 1
    assert sent.call_count == 3
