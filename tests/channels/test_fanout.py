"""Fan-out costs the server per event, not per socket: a visitor message is encoded once
for each group it is published to, however many tabs and agents receive it."""

from __future__ import annotations

from collections import Counter

import pytest

from chatwidget import events
from chatwidget.consumers.base import ChatWidgetConsumer

from . import sockets
from .sockets import receive, send

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
