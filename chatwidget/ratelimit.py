"""Rate limits: a per-process window for socket frames, a shared one for messages.

Socket frames other than messages (typing, read, ping...) and the abuse strikes are counted
in process memory: they guard one server against one flood. Messages are one budget per
sender (contact or agent) whether they come over a socket or REST, so they are counted in
Django's cache (``CHATWIDGET["CACHE"]``): shared by every worker when that cache is
(Redis), per worker otherwise. The REST throttles count there too, through :func:`hit`.

Every window is DRF's ``SimpleRateThrottle``'s: at most ``limit`` hits in any ``window``
seconds. On Redis it is a sorted set of hit times, checked and spent in one script, so
hits arriving at once from several tabs, threads or workers cannot all pass on one read;
elsewhere a list of timestamps (newest first) read and written back, as DRF stores it.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Hashable
from typing import Any

from asgiref.sync import sync_to_async
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from . import conf

logger = logging.getLogger("chatwidget.ratelimit")


class SlidingWindow:
    """At most ``limit`` hits per ``window`` seconds per key.

    Single-threaded by design: consumers run on the process's one event loop.
    """

    def __init__(self) -> None:
        self._hits: dict[Hashable, deque[float]] = {}
        self._calls = 0

    def hit(self, key: Hashable, limit: int, window: float,
            now: float | None = None) -> float | None:
        """Record a hit; None when allowed, else the seconds until the next one would be."""
        now = time.monotonic() if now is None else now
        self._calls += 1
        if self._calls % 1000 == 0:
            self._sweep(now, window)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return max(hits[0] + window - now, 0.0)
        hits.append(now)
        return None

    def _sweep(self, now: float, window: float) -> None:
        """Forget keys that have been quiet for a whole window, so memory stays bounded."""
        stale = [key for key, hits in self._hits.items() if not hits or hits[-1] <= now - window]
        for key in stale:
            del self._hits[key]

    def reset(self) -> None:
        self._hits.clear()


# One per process: every consumer of the process counts against the same windows.
frames = SlidingWindow()


# Backends one instance of which may serve every thread: LocMemCache locks its storage, and
# RedisCache's client keeps a redis-py connection pool, which is thread-safe.
SHAREABLE = (LocMemCache, RedisCache)
_shared: dict[str, Any] = {}
_shared_lock = threading.Lock()


def cache() -> Any:
    """``CHATWIDGET["CACHE"]``, one instance per process where the backend allows it.

    Django's ``caches`` gives each thread its own instance, and under ASGI each request and
    each socket (it is context-local). A ``RedisCache`` instance owns its connection pool,
    so every socket and every request opened a Redis connection of its own, held for the
    socket's life: Redis's ``maxclients`` would cap a site's open widgets. Other backends
    keep Django's instance per context.
    """
    alias = conf.get("CACHE")
    try:
        store = _shared[alias]
    except KeyError:
        with _shared_lock:
            if alias not in _shared:
                backend = import_string(caches.settings[alias]["BACKEND"])
                _shared[alias] = (caches.create_connection(alias)
                                  if issubclass(backend, SHAREABLE) else None)
            store = _shared[alias]
    return store if store is not None else caches[alias]


@receiver(setting_changed)
def _forget_shared(*, setting: str, **kwargs: Any) -> None:
    if setting in {"CACHES", "CHATWIDGET"}:
        _shared.clear()
        _scripts.clear()


def cache_key(scope: str, owner: tuple[str, Any] | str) -> str:
    """``owner`` is ("contact", pk), ("agent", pk) or an IP address."""
    ident = ":".join(str(part) for part in owner) if isinstance(owner, tuple) else owner
    return f"chatwidget:throttle:{scope}:{ident}"


def message_key(owner: tuple[str, Any]) -> str:
    """The one message budget of a contact (all its tabs and requests) or an agent."""
    return cache_key("messages", owner)


def apply(history: list[float], now: float, limit: int,
          window: float) -> tuple[list[float], float | None]:
    """DRF's sliding window: the new history, and the wait when over the limit."""
    history = [t for t in history if t > now - window]
    if len(history) >= limit:
        return history, max(history[-1] + window - now, 0.0)
    return [now, *history], None


def unavailable(key: str, error: Exception) -> None:
    """The cache is down: allow. A limiter must not turn a Redis outage into lost sends
    (messages are stored in the database and reach the other side by resume)."""
    logger.warning("chatwidget: rate-limit cache unavailable (%r), allowing %s", error, key)


# KEYS[1]: the window; ARGV: now, window (seconds), limit, a member unique to this hit.
# A key left in the list format (written before this script) is started afresh. Each hit
# brings its caller's clock: a hit timed a moment before the oldest one it meets (another
# thread's or worker's, arrived first) is told to wait at most the window.
SLIDING_WINDOW = """
local key = KEYS[1]
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('TYPE', key).ok ~= 'zset' then redis.call('DEL', key) end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return tostring(math.min(math.max((tonumber(oldest[2]) or now) + window - now, 0), window))
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, math.ceil(window * 1000))
return false
"""
# The script, bound to a shared RedisCache instance's client (cleared with ``_shared``).
_scripts: dict[RedisCache, Any] = {}
# Sorted-set members must differ even for hits of the same instant on different workers.
_hit_ids = itertools.count()
_process_id = secrets.token_hex(6)


def _redis_hit(store: RedisCache, key: str, limit: int, window: float) -> float | None:
    """One round trip, atomic: ``apply``'s rule as a Redis script.

    Django's cache API would take two (read, then write back), and between them a hit
    of another tab or worker reads the same history and passes too.
    """
    script = _scripts.get(store)
    if script is None:
        # Django builds a redis-py client per cache call; one per process is enough (its
        # connection pool is thread-safe). The primary, as Django's writes use.
        client = store._cache.get_client(write=True)
        script = _scripts[store] = client.register_script(SLIDING_WINDOW)
    now = time.time()
    wait = script(keys=[store.make_and_validate_key(key)],
                  args=[repr(now), window, limit, f"{now!r}:{_process_id}:{next(_hit_ids)}"])
    return None if wait is None else float(wait)


def hit(key: str, limit: int, window: float) -> float | None:
    """Count one hit in the shared cache; None when allowed, else seconds to wait."""
    store = cache()
    try:
        if isinstance(store, RedisCache):
            return _redis_hit(store, key, limit, window)
        history, wait = apply(store.get(key, []), time.time(), limit, window)
        if wait is None:
            store.set(key, history, window)
    except Exception as error:
        unavailable(key, error)
        return None
    return wait


async def ahit(key: str, limit: int, window: float) -> float | None:
    """:func:`hit` for consumers.

    A process-local cache does no I/O: it is read in place, sparing every message frame
    a hop to another thread. Redis runs the window's script in one hop to a pool thread,
    not two to the thread the database calls queue on (Django's async cache API hops
    there once per call). Any other backend goes through that API.
    """
    store = cache()
    if isinstance(store, LocMemCache):
        return hit(key, limit, window)
    if isinstance(store, SHAREABLE):
        return await sync_to_async(hit, thread_sensitive=False)(key, limit, window)
    try:
        history, wait = apply(await store.aget(key, []), time.time(), limit, window)
        if wait is None:
            await store.aset(key, history, window)
    except Exception as error:
        unavailable(key, error)
        return None
    return wait


def message_limit() -> tuple[int, int]:
    return conf.get("RATE_LIMIT_MESSAGES"), conf.get("RATE_LIMIT_WINDOW")
