"""
Django's Redis cache, without building a new Redis client object on every call, and with
keys a process may remember until Redis says they changed.

`django.core.cache.backends.redis.RedisCacheClient.get_client` returns
`redis.Redis(connection_pool=pool)` each time, and that constructor copies the library's
table of response callbacks: about a quarter of a millisecond, measured as 13% of serving a
page from the anonymous page cache (ordinances/page_cache.py). The client object holds no
connection of its own (the pool does), so one per pool is safe to share.

`RedisCache.get_tracked()` answers a read of a small, hot key (the page cache's generation)
from the process's memory, without a round trip, for as long as Redis has not said the key
changed. It uses Redis' server-assisted client-side caching
(https://redis.io/docs/latest/develop/reference/client-side-caching/): each process holds one
more connection, in RESP2 with `CLIENT TRACKING ON REDIRECT <itself> BCAST PREFIX <key>` and
subscribed to `__redis__:invalidate`, on which Redis pushes a message whenever the key is
written, expires or is evicted, and a null one when the database is emptied (FLUSHDB,
FLUSHALL). Redis writes that message to the socket before the writer's reply, in the same turn
of its loop, so once a writer has its answer every reader's socket already holds the news:
each read polls the socket without waiting (a few microseconds) and forgets the value on any
message. A write made through this process (`forget_tracked()`) forgets it at once.

Whatever makes the news uncertain falls back to a round trip on every read, Django's own
`get()`: a tracking connection that broke or could not be made (a Redis restart, a server
without CLIENT TRACKING, a firewall), tried again at most once per back-off (1 s doubling to
60 s), not on every read; a cache with more than one server (reads from replicas could see an
old value after the news). And a remembered value is read again at least every
`TRUST_SECONDS`: if it changed without a message, the connection is treated as broken. The
connections belong to the process that made them (keyed by its id): gunicorn forks its
workers from a master that loaded the app.
"""

from __future__ import annotations

import os
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient

INVALIDATION_CHANNEL = "__redis__:invalidate"
# At most this long a remembered value goes unread, whatever the tracking connection says:
# a connection can die without a word (a host gone, a firewall dropping idle sockets).
TRUST_SECONDS = 1.0
# A tracking connection that failed is tried again after this long, doubling up to the last.
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 60.0
# How long setting up the connection, or reading the rest of a message, may take.
SOCKET_TIMEOUT_SECONDS = 0.5

_UNKNOWN: Any = object()


class TrackedKey:
    """
    One process's remembered value of one key, trusted while its tracking connection
    brings no message and is healthy. `read` is the cache's own get(), used otherwise.
    """

    def __init__(self, make_connection: Callable[[], Any], key: str) -> None:
        self.key = key
        self._make_connection = make_connection
        self._connection: Any = None
        self._socket: socket.socket | None = None
        self._poller: Any = None
        self.client_id: int | None = None  # the tracking connection's, in CLIENT LIST
        self._value: Any = _UNKNOWN
        self._read_at = 0.0
        # Counts the messages and forgets, so that a value read meanwhile is not remembered.
        self._news = 0
        self._retry_at = 0.0
        self._backoff = RETRY_FIRST_SECONDS
        # gunicorn's threaded workers share a process.
        self._lock = threading.Lock()

    def get(self, read: Callable[[], Any]) -> Any:
        with self._lock:
            self._poll()
            value = self._value
            if value is not _UNKNOWN and time.monotonic() - self._read_at < TRUST_SECONDS:
                return value
            self._value = _UNKNOWN
            tracked = self._connection is not None or self._connect()
            news = self._news
        fresh = read()
        with self._lock:
            self._poll()
            if not tracked or self._connection is None or self._news != news or fresh is None:
                return fresh
            if value is not _UNKNOWN and value != fresh:
                # Changed, and no message came: whatever the connection says cannot be trusted.
                self._break()
                return fresh
            self._value, self._read_at = fresh, time.monotonic()
        return fresh

    def forget(self) -> None:
        with self._lock:
            self._value = _UNKNOWN
            self._news += 1

    def tracking(self) -> bool:
        """Whether the value may be remembered (a tracking connection is up)."""
        with self._lock:
            self._poll()
            return self._connection is not None

    def _poll(self) -> None:
        sock = self._socket
        if sock is None or not self._poller.poll(0):  # one system call, when there is no news
            return
        try:
            # Any byte is a message, and any message means the key changed (or the database
            # was emptied): nothing to parse. The socket does not block.
            while sock.recv(4096):
                self._value = _UNKNOWN
                self._news += 1
        except (BlockingIOError, ssl.SSLWantReadError):
            return  # no news
        except Exception:  # whatever went wrong, the news is uncertain
            pass
        self._break()  # closed by Redis (an empty read), or broken

    def _connect(self) -> bool:
        now = time.monotonic()
        if now < self._retry_at:
            return False
        connection = None
        try:
            connection = self._make_connection()
            connection.connect()
            connection.send_command("CLIENT", "ID", check_health=False)
            client_id = int(connection.read_response())
            connection.send_command(
                "CLIENT",
                "TRACKING",
                "ON",
                "REDIRECT",
                client_id,
                "BCAST",
                "PREFIX",
                self.key,
                check_health=False,
            )
            if connection.read_response() not in (b"OK", "OK"):
                raise ConnectionError("CLIENT TRACKING refused")
            connection.send_command("SUBSCRIBE", INVALIDATION_CHANNEL, check_health=False)
            connection.read_response()
            # From here on it is only polled, and never waits.
            sock = connection._sock
            sock.setblocking(False)
            poller = select.poll()
            poller.register(sock, select.POLLIN)
        except Exception:  # no Redis, an old one, a refused command: read each time
            if connection is not None:
                connection.disconnect()
            self._retry_at = now + self._backoff
            self._backoff = min(self._backoff * 2, RETRY_MAX_SECONDS)
            return False
        self._connection, self._socket, self._poller, self.client_id = connection, sock, poller, client_id
        self._backoff = RETRY_FIRST_SECONDS
        return True

    def _break(self) -> None:
        connection, self._connection, self._socket, self.client_id = self._connection, None, None, None
        self._value = _UNKNOWN
        self._news += 1
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, RETRY_MAX_SECONDS)
        if connection is not None:
            connection.disconnect()


# (process id, server, key) -> its TrackedKey; the cache objects themselves are per thread.
_tracked: dict[tuple[int, str, str], TrackedKey] = {}
_tracked_lock = threading.Lock()


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # The stubs do not describe Django's private helpers; they are the ones get_client uses.
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
            client = self._clients[index] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client

    def tracking_connection(self) -> Any:
        """A new connection to the first server, of its own, in RESP2 (pub/sub messages)."""
        options = {
            **self._pool_options,  # type: ignore[attr-defined]
            "protocol": 2,
            "socket_timeout": SOCKET_TIMEOUT_SECONDS,
            "socket_connect_timeout": SOCKET_TIMEOUT_SECONDS,
        }
        return self._pool_class.from_url(self._servers[0], **options).make_connection()  # type: ignore[attr-defined]


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
        self._made_keys: dict[str, str] = {}

    def get_tracked(self, key: str) -> Any:
        """
        get(), answered from this process's memory while Redis reports no change to `key`
        (None when the key is missing, never remembered).
        """
        tracked = self._tracked_key(key)
        if tracked is None:
            return self.get(key)
        return tracked.get(lambda: self.get(key))

    def forget_tracked(self, key: str) -> None:
        """This process has just written `key`: read it again next time."""
        tracked = self._tracked_key(key)
        if tracked is not None:
            tracked.forget()

    def _tracked_key(self, key: str) -> TrackedKey | None:
        if len(self._servers) != 1:  # type: ignore[attr-defined]
            return None
        made = self._made_keys.get(key)
        if made is None:
            made = self._made_keys[key] = self.make_and_validate_key(key)
        index = (os.getpid(), self._servers[0], made)  # type: ignore[attr-defined]
        tracked = _tracked.get(index)
        if tracked is None:
            with _tracked_lock:
                tracked = _tracked.get(index)
                if tracked is None:
                    tracked = _tracked[index] = TrackedKey(self._cache.tracking_connection, made)  # type: ignore[attr-defined]
        return tracked


def stop_tracking() -> None:
    """Close this process's tracking connections and forget what they kept (tests, mostly)."""
    with _tracked_lock:
        tracked = list(_tracked.values())
        _tracked.clear()
    for one in tracked:
        with one._lock:
            one._break()
