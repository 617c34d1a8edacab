"""Fan-out costs the server per event, not per socket: a visitor message is encoded once
for each group it is published to, however many tabs and agents receive it; and an agent
socket gets what its inbox shows: every conversation's list updates, and the typing and
read receipts of the threads it shows (``watch``) only."""

from __future__ import annotations

from collections import Counter

import pytest

from chatwidget import events
from chatwidget.consumers.base import ChatWidgetConsumer

from . import sockets
from .sockets import receive, send, silent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def encodes(monkeypatch) -> Counter[str]:
    """Event names encoded, by the publishers' encoder and by any socket's own encoder."""
    counted: Counter[str] = Counter()
    publisher_encode = events.encode_frame

    def encode_frame(kind, payload):
        counted[f"published {kind}"] += 1
        return publisher_encode(kind, payload)

    socket_encode = ChatWidgetConsumer.encode_json.__func__

    def encode_json(cls, content):
        counted[f"socket {content.get('type')}"] += 1
        return socket_encode(cls, content)

    monkeypatch.setattr(events, "encode_frame", encode_frame)
    monkeypatch.setattr(ChatWidgetConsumer, "encode_json", classmethod(encode_json))
    return counted


async def send_one(browser, agent_cookies, encodes, *, agents: int, tabs: int,
                   body: str) -> Counter[str]:
    """One visitor message to an audience; what was encoded for it, once all got it."""
    tab_sockets = [await sockets.visitor(browser.raw) for _ in range(tabs)]
    agent_sockets = [await sockets.agent(agent_cookies) for _ in range(agents)]
    encodes.clear()
    await send(tab_sockets[0], type="message.send", conversationId=browser.conversation.pk,
               body=body, clientId=body)
    assert (await receive(tab_sockets[0]))["type"] == "message.ack"
    for socket in tab_sockets + agent_sockets:
        created = await receive(socket)
        assert (created["type"], created["message"]["body"]) == (events.MESSAGE_CREATED, body)
    counted = Counter(encodes)
    for socket in tab_sockets + agent_sockets:
        await socket.disconnect()
    return counted


async def test_a_message_is_encoded_once_per_group_whatever_the_number_of_sockets(
    browser, agent_cookies, encodes
):
    small = await send_one(browser, agent_cookies, encodes, agents=1, tabs=1, body="one each")
    large = await send_one(browser, agent_cookies, encodes, agents=5, tabs=3, body="a crowd")

    # The contact's tabs and the agents get different payloads (the agents' carries the
    # unread count): two encodes, and no socket encodes the event again.
    assert large["published message.created"] == 2
    assert large["socket message.created"] == 0
    assert large == small


async def test_an_agent_socket_gets_the_list_update_of_every_conversation_and_the_thread_events_of_the_one_it_shows(  # noqa: E501
    browser, other_browser, agent_cookies
):
    tab = await sockets.visitor(browser.raw)
    showing = await sockets.agent(agent_cookies)
    elsewhere = await sockets.agent(agent_cookies)
    await sockets.watch(showing, browser.conversation.pk)
    await sockets.watch(elsewhere, other_browser.conversation.pk)
    conversation = browser.conversation.pk

    await send(tab, type="typing", conversationId=conversation, typing=True)
    await send(tab, type="message.send", conversationId=conversation, body="hello",
               clientId="c-1")
    await send(tab, type="read", conversationId=conversation)

    assert [(await receive(showing))["type"] for _ in range(3)] == [
        events.TYPING, events.MESSAGE_CREATED, events.READ]
    # One socket's events arrive in the order they were published: the typing before the
    # message never came, and neither does the read receipt after it.
    created = await receive(elsewhere)
    assert (created["type"], created["unread"]["count"]) == (events.MESSAGE_CREATED, 1)
    assert await silent(elsewhere)
    for socket in (tab, showing, elsewhere):
        await socket.disconnect()


async def test_watching_another_thread_stops_the_first_ones_events(browser, agent_cookies):
    tab = await sockets.visitor(browser.raw)
    inbox = await sockets.agent(agent_cookies)
    await sockets.watch(inbox, browser.conversation.pk)
    await sockets.watch(inbox)

    await send(tab, type="typing", conversationId=browser.conversation.pk, typing=True)
    await send(tab, type="message.send", conversationId=browser.conversation.pk, body="hi")

    assert (await receive(inbox))["type"] == events.MESSAGE_CREATED
    for socket in (tab, inbox):
        await socket.disconnect()


@pytest.mark.parametrize(("ids", "code"), [
    ([999_999], "not_found"),
    ("1", "invalid_field"),
    ([True], "invalid_field"),
    (list(range(1, 22)), "invalid_field"),  # over the limit of 20
])
async def test_an_agent_cannot_watch_an_unknown_conversation_or_too_many(
    agent_cookies, ids, code
):
    inbox = await sockets.agent(agent_cookies)

    await send(inbox, type="watch", conversationIds=ids)

    error = await receive(inbox)
    assert (error["type"], error["code"]) == ("error", code)
    await inbox.disconnect()
