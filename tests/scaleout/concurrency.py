"""Firing real requests at live workers all at once, and counting what they left behind."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from websockets.exceptions import ConnectionClosed

from tests.servers import manage

from .browser import Browser, Socket

VISITOR = "/ws/chatwidget/"
# A request may wait its turn for a pooled connection; on a loaded machine the wait must
# not be mistaken for a refusal, so both sides wait long.
WAIT = 60


def all_at_once(calls: Sequence[Callable[[], Any]]) -> list:
    """Run the calls on threads released together by a barrier; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def counts(site: dict, *queries: str) -> list[int]:
    """Evaluate counts over ``chatwidget.models`` in the site's database (one process)."""
    script = f"from chatwidget.models import *; print('COUNT', {', '.join(queries)})"
    output = manage("shell", "-c", script, env=site["env"]).stdout
    return [int(value) for value in output.split("COUNT", 1)[1].split()[:len(queries)]]


def count(site: dict, query: str) -> int:
    return counts(site, query)[0]


def workers(servers: Sequence[Any], n: int) -> list:
    """``n`` servers taken in turn: the requests spread over every worker."""
    return [servers[i % len(servers)] for i in range(n)]


def user_hash(site: dict, external_id: str) -> str:
    """What the site's backend signs an external id with (the default widget's secret)."""
    script = ("from chatwidget import identity; "
              "print('SECRET', identity.get_widget().identity_secret)")
    output = manage("shell", "-c", script, env=site["env"]).stdout
    secret = output.split("SECRET", 1)[1].split()[0]
    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


def visitor_with_conversation(server) -> tuple[Browser, int]:
    """A browser that pinged worker ``server`` and started a conversation there."""
    browser = Browser()
    status, ping = browser.post(server.url, "/chatwidget/api/ping/")
    assert status == 200, ping
    assert "chatwidget" in browser.cookies and "csrftoken" in browser.cookies
    status, created = browser.post(server.url, "/chatwidget/api/conversations/", {})
    assert status == 201, created
    return browser, created["conversation"]["conversationId"]


async def send_and_hear(socket: Socket, conversation_id: int, body: str, *,
                        ready: bool = True) -> str:
    """Send one message (first waiting for ``ready``); "delivered" once the tab hears it."""
    if ready:
        frame = await socket.receive(WAIT)
        if frame["type"] != "ready":
            return f"not ready: {frame}"
    await socket.send(type="message.send", conversationId=conversation_id, body=body,
                      clientId=body)
    while True:
        frame = await socket.receive(WAIT)
        if frame["type"] == "error":
            return f"error: {frame}"
        if frame["type"] == "message.ack":
            # Closing before the tab hears its own message would race the server's send
            # of it (an error logged on its own account, not this test's subject).
            await socket.receive_message(frame["message"]["id"], WAIT)
            return "delivered"


def send_over_socket(browser: Browser, server, conversation_id: int, body: str) -> str:
    """A tab opens its socket and sends one message; how that went, as one word or why not."""

    async def run() -> str:
        try:
            socket = await browser.socket(server.ws_url, VISITOR, origin=server.url,
                                          timeout=WAIT)
        except Exception as error:  # a refused handshake (HTTP 500) is an answer here
            return f"handshake failed: {error!r}"
        try:
            return await send_and_hear(socket, conversation_id, body)
        except ConnectionClosed as closed:
            return f"socket closed: {closed!r}"
        finally:
            await socket.close()

    return asyncio.run(run())
