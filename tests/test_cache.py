"""portal.cache.RedisCache: Django's Redis cache, with one client object per connection pool."""

from __future__ import annotations

import os
import socket

import pytest

from ordinances import page_cache
from portal.cache import RedisCache

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
