"""A Redis restart between live messages: every socket of a worker is told to resync and
recovers what pub/sub dropped; a handshake during or after the outage never fails with a
500. Two real worker processes, one real redis-server (killed and restarted on its port).
"""

from __future__ import annotations

import asyncio

import pytest
from websockets.exceptions import InvalidStatus

from tests.servers import start_asgi_server

from .browser import Browser
from .concurrency import visitor_with_conversation
from .test_two_workers import VISITOR, send_message, tab_on_a_and_inbox_on_b


async def resumed_ids(socket, after: int) -> set[int]:
    """Resume as the SDK does after a ``resync``; the ids replayed."""
    await socket.send(type="resume", after=after)
    replayed = set()
    while (frame := await socket.receive())["type"] != "resume.done":
        if frame["type"] == "message.created":
            replayed.add(frame["message"]["id"])
    return replayed


async def test_after_a_redis_restart_every_socket_resyncs_from_before_the_gap(
    servers, site, redis
):
    _, conversation_id, tab, inbox = await tab_on_a_and_inbox_on_b(servers, site)
    live = await send_message(inbox, conversation_id, "before the restart")
    assert await tab.receive_message(live["id"]) == live

    redis.stop()
    try:
        # Stored and acknowledged; published into the void.
        lost = [(await send_message(inbox, conversation_id, f"during the outage {n}"))["id"]
                for n in range(3)]
    finally:
        redis.start()

    # Worker A's subscriber reconnects by itself and tells its socket; the socket had
    # been delivered `live` last, so that is where it resumes.
    resync = await tab.receive_type("resync", timeout=30)
    assert resync["after"] == live["id"]
    assert set(lost) <= await resumed_ids(tab, resync["after"])
    # Worker B's socket too: it must not trust that it heard everything.
    resync = await inbox.receive_type("resync", timeout=30)
    assert resync["after"] is not None and resync["after"] < lost[0]

    # Live delivery works again, with no further resync.
    after = await send_message(inbox, conversation_id, "after the restart")
    assert await tab.receive_message(after["id"]) == after
    for socket in (tab, inbox):
        await socket.close()


async def handshake(browser: Browser, server) -> int | str:
    """``"ready"``, or the code the server closed the accepted socket with; a refused
    handshake (e.g. a 500) raises."""
    socket = await browser.socket(server.ws_url, VISITOR, origin=server.url)
    try:
        frame = await socket.receive()
    except Exception:  # closed before any frame
        return await socket.close_code()
    if frame["type"] == "ready":
        await socket.close()
        return "ready"
    return await socket.close_code()


async def test_handshakes_during_and_after_a_redis_restart_never_fail_with_500(site, redis):
    worker = await asyncio.to_thread(start_asgi_server, env=site["env"], server="uvicorn")
    try:
        browser, _ = await asyncio.to_thread(visitor_with_conversation, worker)
        others = [(await asyncio.to_thread(visitor_with_conversation, worker))[0]
                  for _ in range(3)]
        # An open socket keeps the worker's subscriber reading, so it sees Redis go away.
        busy = await browser.socket(worker.ws_url, VISITOR, origin=worker.url)
        assert (await busy.receive())["type"] == "ready"

        redis.stop()
        try:
            for other in others:  # sockets whose groups this worker is not subscribed to
                assert await refusal_free_handshake(other, worker) == 1013  # try again
        finally:
            redis.start()
        await busy.close()

        # The first handshake on the now idle worker: in, or told to try again.
        outcome = await refusal_free_handshake(browser, worker)
        if outcome == 1013:
            outcome = await refusal_free_handshake(browser, worker)
        assert outcome == "ready"
        assert "Exception in ASGI application" not in worker.log()
    finally:
        await asyncio.to_thread(worker.stop)


async def refusal_free_handshake(browser: Browser, server) -> int | str:
    try:
        return await handshake(browser, server)
    except InvalidStatus as refused:
        pytest.fail(f"handshake refused with HTTP {refused.response.status_code}")
