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


@pytest.fixture
def widget_lookups(monkeypatch) -> list[str]:
    """The app_id of every separate widget look-up a visitor socket makes."""
    looked_up: list[str] = []
    original = VisitorConsumer.__dict__["get_embed_widget"].func

    def get_embed_widget(self):
        looked_up.append(self.app_id)
        return original(self)

    monkeypatch.setattr(VisitorConsumer, "get_embed_widget",
                        database_sync_to_async(get_embed_widget))
    return looked_up


async def test_a_page_naming_its_own_widget_opens_the_socket_without_a_second_trip(
        browser, widget_lookups):
    # The SDK always names its widget (?app_id=): the widget comes with the token.
    tab = await sockets.visitor(browser.raw, path="/ws/chatwidget/?app_id=default")

    assert tab.ready["contactId"] == browser.contact.pk
    assert widget_lookups == []
    await tab.disconnect()


async def test_a_page_naming_another_widget_still_has_it_looked_up_and_refused(
        browser, widget_lookups):
    code = await sockets.accepted_then_closed("/ws/chatwidget/?app_id=nowhere",
                                              [{"type": "auth", "token": browser.raw}])

    assert widget_lookups == ["nowhere"]
    assert code == 4401
