"""PostgreSQL connections never run out (issue 12, "Races on PostgreSQL").

Two production workers (the documented uvicorn command) on a PostgreSQL that accepts
only ``MAX_CONNECTIONS`` clients, hit with far more concurrent requests and socket
messages than that. Every one must succeed: the connection pool of each worker, not the
number of threads, decides how many connections the site holds (docs/deploy.md).
"""

from __future__ import annotations

import asyncio

import pytest
from websockets.exceptions import ConnectionClosed

from tests.servers import manage, start_asgi_server, start_postgres

from .browser import Browser, Socket
from .concurrency import all_at_once, counts, user_hash, workers

pytestmark = pytest.mark.timeout(120)

MAX_CONNECTIONS = 12
# Two workers x 4 = 8, leaving 4 for manage.py and the test's own connections: the
# budget docs/deploy.md asks for (workers x max_size <= max_connections - headroom).
POOL_SIZE = 4
PINGS = 24
IDENTIFIES = 8
SOCKETS = 6
VISITOR = "/ws/chatwidget/"


@pytest.fixture(scope="module")
def small_postgres():
    server = start_postgres(max_connections=MAX_CONNECTIONS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def budget_site(redis, small_postgres):
    env = {"DATABASE_URL": small_postgres.url, "REDIS_URL": redis.url, "DEBUG": "1",
           "ALLOWED_HOSTS": "127.0.0.1,localhost", "DATABASE_POOL_MAX_SIZE": str(POOL_SIZE)}
    manage("migrate", "--noinput", env=env)
    return {"env": env}


@pytest.fixture(scope="module")
def budget_workers(budget_site):
    started = []
    try:
        for _ in range(2):
            started.append(start_asgi_server(env=budget_site["env"], server="uvicorn"))
        yield started
    finally:
        for server in started:
            server.stop()


def visitor_with_conversation(server) -> tuple[Browser, int]:
    browser = Browser()
    status, ping = browser.post(server.url, "/chatwidget/api/ping/")
    assert status == 200, ping
    status, created = browser.post(server.url, "/chatwidget/api/conversations/", {})
    assert status == 201, created
    return browser, created["conversation"]["conversationId"]


async def send_and_hear(socket: Socket, conversation_id: int, body: str) -> str:
    """Send one message once the socket is ready; "delivered" once the tab hears it back."""
    ready = await socket.receive()
    if ready["type"] != "ready":
        return f"not ready: {ready}"
    await socket.send(type="message.send", conversationId=conversation_id, body=body,
                      clientId=body)
    while True:
        frame = await socket.receive()
        if frame["type"] == "error":
            return f"error: {frame}"
        if frame["type"] == "message.ack":
            # Closing before the tab hears its own message would race the server's send
            # of it (an error logged on its own account, not this test's subject).
            await socket.receive_message(frame["message"]["id"])
            return "delivered"


def send_over_socket(browser: Browser, server, conversation_id: int, body: str) -> str:
    """A tab opens its socket and sends one message; how that went, as one word or why not."""

    async def run() -> str:
        try:
            socket = await browser.socket(server.ws_url, VISITOR, origin=server.url)
        except Exception as error:  # a refused handshake (HTTP 500) is an answer here
            return f"handshake failed: {error!r}"
        try:
            return await send_and_hear(socket, conversation_id, body)
        except ConnectionClosed as closed:
            return f"socket closed: {closed!r}"
        finally:
            await socket.close()

    return asyncio.run(run())


def test_more_requests_and_sockets_than_postgres_accepts_all_succeed(
        budget_workers, budget_site):
    signature = user_hash(budget_site, "budget-1")
    identifying = [Browser() for _ in range(IDENTIFIES)]
    for browser, server in zip(identifying, workers(budget_workers, IDENTIFIES), strict=True):
        assert browser.post(server.url, "/chatwidget/api/ping/")[0] == 200
    tabs = [visitor_with_conversation(server)
            for server in workers(budget_workers, SOCKETS)]

    calls = [
        *[(lambda server=server: Browser().post(server.url, "/chatwidget/api/ping/",
                                                {"transport": "bearer"}))
          for server in workers(budget_workers, PINGS)],
        *[(lambda browser=browser, server=server: browser.post(
            server.url, "/chatwidget/api/identify/",
            {"external_id": "budget-1", "user_hash": signature}))
          for browser, server in zip(identifying, workers(budget_workers, IDENTIFIES),
                                     strict=True)],
        *[(lambda browser=browser, server=server, conversation_id=conversation_id, i=i:
           send_over_socket(browser, server, conversation_id, f"burst-{i}"))
          for i, ((browser, conversation_id), server)
          in enumerate(zip(tabs, workers(budget_workers, SOCKETS), strict=True))],
    ]
    answers = all_at_once(calls)
    http, sockets = answers[:PINGS + IDENTIFIES], answers[PINGS + IDENTIFIES:]

    failed = [(status, str(data)[:300]) for status, data in http if status != 200]
    assert [status for status, _ in http] == [200] * (PINGS + IDENTIFIES), failed
    assert sockets == ["delivered"] * SOCKETS
    pings, identifies = http[:PINGS], http[PINGS:]
    assert len({data["contact"]["id"] for _, data in pings}) == PINGS
    assert len({data["contact"]["id"] for _, data in identifies}) == 1
    assert counts(budget_site, "Contact.objects.filter(external_id='budget-1').count()",
                  "Message.objects.filter(body__startswith='burst-').count()") == [1, SOCKETS]
    for server in budget_workers:
        assert "OperationalError" not in server.log(), server.log()
