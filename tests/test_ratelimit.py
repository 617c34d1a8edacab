"""The shared budgets on Redis: checked and spent in one step, against a real redis-server.

A visitor's tabs, a worker's pool threads and the other workers all spend one message
budget; hits that arrive together must not all pass on one read of it.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from django.core.cache import caches

from chatwidget import ratelimit

from .servers import start_redis


@pytest.fixture
def shared_cache(settings):
    redis = start_redis()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "shared": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                   "LOCATION": f"redis://127.0.0.1:{redis.port}/0"},
    }
    settings.CHATWIDGET = {**settings.CHATWIDGET, "CACHE": "shared"}
    try:
        yield caches["shared"]
    finally:
        redis.stop()


async def test_messages_sent_at_once_from_many_tabs_spend_one_budget(shared_cache):
    key = ratelimit.message_key(("contact", 1))

    waits = await asyncio.gather(*(ratelimit.ahit(key, 5, 60) for _ in range(40)))

    assert sum(wait is None for wait in waits) == 5
    # The refused are told when the oldest hit leaves the window, not "never".
    assert all(0 < wait <= 60 for wait in waits if wait is not None)


def test_a_budget_written_by_an_older_version_counts_again_from_its_first_hit(
        shared_cache):
    """Before the script, the window was a list read and written back through the cache: a
    deploy meets such keys for one window, and must neither lock their senders out nor
    stop counting them."""
    key = ratelimit.message_key(("contact", 2))
    shared_cache.set(key, [time.time()] * 5, 60)

    allowed = [ratelimit.hit(key, 5, 60) is None for _ in range(6)]

    assert allowed == [True] * 5 + [False]
