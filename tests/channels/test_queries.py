"""Query discipline: a visitor's message costs the same few queries however many agents
and tabs are listening (fan-out is the channel layer's job, not the database's)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chatwidget.consumers.visitor import VisitorConsumer

from . import sockets
from .sockets import receive, send

pytestmark = pytest.mark.django_db(transaction=True)

# The demo settings open SQLite transactions with an explicit BEGIN IMMEDIATE (so
# concurrent writers queue instead of failing); PostgreSQL's BEGIN is implicit. Neither
# is a query against the data, so neither is counted.
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@pytest.fixture
def counted_queries(monkeypatch) -> list[list[str]]:
    """The SQL of every post_message call, captured in the thread that runs it."""
    captured: list[list[str]] = []
    original = VisitorConsumer.__dict__["post_message"].func

    def post_message(self, *args, **kwargs):
        with CaptureQueriesContext(connection) as queries:
            result = original(self, *args, **kwargs)
        captured.append([q["sql"] for q in queries.captured_queries
                         if not q["sql"].upper().startswith(TRANSACTION_CONTROL)])
        return result

    monkeypatch.setattr(VisitorConsumer, "post_message", database_sync_to_async(post_message))
    return captured


async def one_message(browser, agent_cookies, *, agents: int, tabs: int, body: str) -> None:
    tab_sockets = [await sockets.visitor(browser.raw) for _ in range(tabs)]
    agent_sockets = [await sockets.agent(agent_cookies) for _ in range(agents)]
    await send(tab_sockets[0], type="message.send", conversationId=browser.conversation.pk,
               body=body, clientId=body)
    assert (await receive(tab_sockets[0]))["type"] == "message.ack"
    for socket in tab_sockets:
        assert (await receive(socket))["message"]["body"] == body
    for socket in agent_sockets:
        created = await receive(socket)
        assert created["message"]["body"] == body
        assert created["unread"]["count"] >= 1
    for socket in tab_sockets + agent_sockets:
        await socket.disconnect()


async def test_a_visitor_message_costs_two_queries_whatever_the_audience(
    browser, agent_cookies, counted_queries
):
    await one_message(browser, agent_cookies, agents=1, tabs=1, body="small audience")
    await one_message(browser, agent_cookies, agents=5, tabs=1, body="five agents")
    await one_message(browser, agent_cookies, agents=1, tabs=3, body="three tabs")

    small, agents, tabs = counted_queries
    assert len(small) == len(agents) == len(tabs), (small, agents, tabs)
    assert len(small) == 2, small
