"""Look-ups that many sockets ask for at once share trips to the database thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from chatwidget.consumers.batching import Batched


async def test_keys_asked_during_a_trip_are_fetched_together_on_the_next_one():
    calls: list[list[str]] = []
    first_running, release = threading.Event(), threading.Event()

    def fetch(keys: list[str]) -> dict[str, str]:
        calls.append(sorted(keys))
        if len(calls) == 1:
            first_running.set()
            release.wait(5)
        return {key: f"value of {key}" for key in keys}

    batched = Batched(fetch)
    first = asyncio.ensure_future(batched.get("a"))
    assert await asyncio.to_thread(first_running.wait, 5)
    # Two tabs of one browser ("b") must not share what one fetch returned.
    later = [asyncio.ensure_future(batched.get(key)) for key in ("b", "c", "b")]
    while sum(map(len, batched.waiting.values())) < 3:
        await asyncio.sleep(0)
    release.set()

    assert await first == "value of a"
    assert await asyncio.gather(*later) == ["value of b", "value of c", "value of b"]
    assert calls == [["a"], ["b", "c"], ["b"]]


async def test_a_key_the_fetch_does_not_return_is_none():
    batched = Batched(lambda keys: {})
    assert await batched.get("unknown") is None


async def test_a_failed_trip_fails_only_the_sockets_that_were_in_it():
    def fetch(keys: list[str]) -> dict[str, str]:
        if "bad" in keys:
            raise RuntimeError("database unavailable")
        return {key: key for key in keys}

    batched = Batched(fetch)
    with pytest.raises(RuntimeError):
        await batched.get("bad")
    assert await batched.get("good") == "good"
