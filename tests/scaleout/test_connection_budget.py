"""PostgreSQL connections never run out (issue 12, "Races on PostgreSQL").

Two production workers (the documented uvicorn command) on a PostgreSQL that accepts
only ``MAX_CONNECTIONS`` clients, hit with far more concurrent requests and socket
messages than that. Every one must succeed: the connection pool of each worker, not the
number of threads, decides how many connections the site holds (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import psycopg
import pytest

from tests.servers import manage, start_asgi_server, start_postgres

from .browser import Browser
from .concurrency import (
    VISITOR,
    WAIT,
    all_at_once,
    counts,
    send_and_hear,
    send_over_socket,
    user_hash,
    visitor_with_conversation,
    workers,
)

pytestmark = pytest.mark.timeout(120)

MAX_CONNECTIONS = 12
# Two workers x 4 = 8, leaving 4 for manage.py and the test's own connections: the
# budget docs/deploy.md asks for (workers x max_size <= max_connections - headroom).
POOL_SIZE = 4
PINGS = 24
IDENTIFIES = 8
SOCKETS = 6


@pytest.fixture(scope="module")
def small_postgres():
    server = start_postgres(max_connections=MAX_CONNECTIONS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def budget_site(redis, small_postgres):
    env = {"DATABASE_URL": small_postgres.url, "REDIS_URL": redis.url, "DEBUG": "1",
           "ALLOWED_HOSTS": "127.0.0.1,localhost", "DATABASE_POOL_MAX_SIZE": str(POOL_SIZE),
           "DATABASE_POOL_TIMEOUT": str(WAIT)}
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
                                                {"transport": "bearer"}, timeout=WAIT))
          for server in workers(budget_workers, PINGS)],
        *[(lambda browser=browser, server=server: browser.post(
            server.url, "/chatwidget/api/identify/",
            {"external_id": "budget-1", "user_hash": signature}, timeout=WAIT))
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


# ---------------------------------------------------------------- Redis connections

BURST = 8


def redis_connections_accepted(redis) -> int:
    import redis as redis_py

    with redis_py.Redis.from_url(redis.url) as client:
        return client.info("stats")["total_connections_received"]


def test_sockets_and_requests_reuse_their_workers_redis_connections(budget_workers, redis):
    """Each socket and each request used to count its rate limit over a Redis connection of
    its own (Django's cache instances are per context under ASGI), so Redis's
    ``maxclients`` capped the open widgets. A second burst like the first must find every
    connection it needs already open."""
    tabs = [visitor_with_conversation(server) for server in workers(budget_workers, BURST)]

    def burst(n: int) -> list:
        return all_at_once([
            *[(lambda server=server: Browser().post(server.url, "/chatwidget/api/ping/",
                                                    timeout=WAIT)[0])
              for server in workers(budget_workers, BURST)],
            *[(lambda browser=browser, server=server, conversation_id=conversation_id, i=i:
               send_over_socket(browser, server, conversation_id, f"redis-{n}-{i}"))
              for i, ((browser, conversation_id), server)
              in enumerate(zip(tabs, workers(budget_workers, BURST), strict=True))],
        ])

    assert burst(1) == [200] * BURST + ["delivered"] * BURST
    before = redis_connections_accepted(redis)
    assert burst(2) == [200] * BURST + ["delivered"] * BURST
    # This test's own second INFO connection is one.
    assert redis_connections_accepted(redis) - before <= 1


# ---------------------------------------------------------------- the pool runs dry

NARROW_TIMEOUT = 0.5


@pytest.fixture(scope="module")
def narrow_worker(budget_site):
    """A worker whose pool holds one connection, given up on after NARROW_TIMEOUT s."""
    env = {**budget_site["env"], "DATABASE_POOL_MAX_SIZE": "1", "DATABASE_POOL_MIN_SIZE": "1",
           "DATABASE_POOL_TIMEOUT": str(NARROW_TIMEOUT)}
    server = start_asgi_server(env=env, server="uvicorn")
    yield server
    server.stop()


@contextlib.contextmanager
def contacts_locked(postgres):
    """Hold an exclusive lock on the contact table until the block ends."""
    with psycopg.connect(postgres.url) as locker:
        locker.execute("LOCK TABLE chatwidget_contact IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            locker.rollback()


def wait_for_a_query_blocked_on_the_lock(postgres) -> None:
    with psycopg.connect(postgres.url, autocommit=True) as watcher:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = watcher.execute("SELECT count(*) FROM pg_stat_activity "
                                  "WHERE wait_event_type = 'Lock'").fetchone()
            if row[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the first request never reached the database")


def assert_unavailable(status: int, data, headers) -> None:
    assert status == 503, data
    assert data["error"]["type"] == "unavailable", data
    assert int(headers["Retry-After"]) >= 1, dict(headers)


async def test_a_request_that_gets_no_pooled_connection_is_told_to_retry(
        narrow_worker, small_postgres):
    server = narrow_worker
    visitor, conversation_id = await asyncio.to_thread(visitor_with_conversation, server)
    tab = await visitor.socket(server.ws_url, VISITOR, origin=server.url)
    assert (await tab.receive())["type"] == "ready"

    with contacts_locked(small_postgres):
        # A first visitor's ping takes the worker's only connection and waits on the lock.
        first = asyncio.ensure_future(asyncio.to_thread(
            Browser().post, server.url, "/chatwidget/api/ping/", timeout=WAIT))
        await asyncio.to_thread(wait_for_a_query_blocked_on_the_lock, small_postgres)

        # The visitor's cookie is looked up by the middleware, a new one's ping in the view:
        # both wait for the pool in vain and get the API's JSON error, not a 500 page.
        status, data = await asyncio.to_thread(
            visitor.post, server.url, "/chatwidget/api/conversations/", {"body": "x"})
        assert_unavailable(status, data, visitor.headers)
        newcomer = Browser()
        status, data = await asyncio.to_thread(
            newcomer.post, server.url, "/chatwidget/api/ping/")
        assert_unavailable(status, data, newcomer.headers)

        # A ready socket refuses the frame, retryable; a new one closes with "try again".
        await tab.send(type="message.send", conversationId=conversation_id, body="busy",
                       clientId="busy-1")
        error = await tab.receive_type("error")
        assert (error["code"], error["clientId"]) == ("unavailable", "busy-1")
        assert error["retryAfter"] >= 1
        second_tab = await visitor.socket(server.ws_url, VISITOR, origin=server.url)
        assert await second_tab.close_code() == 1013
        # A site session is read before any consumer runs (Channels' AuthMiddleware).
        signed_in = Browser({**visitor.cookies, "sessionid": "s" * 32})
        third_tab = await signed_in.socket(server.ws_url, VISITOR, origin=server.url)
        assert await third_tab.close_code() == 1013

    assert (await first)[0] == 200
    # The same frame, retried, goes through once the pool has a connection again.
    assert await send_and_hear(tab, conversation_id, "busy-1", ready=False) == "delivered"
    await tab.close()
    # The operator reads why, in one line per refusal, and no error trace.
    assert "database unavailable" in server.log()
    assert "OperationalError" not in server.log(), server.log()
