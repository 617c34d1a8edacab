"""Messages over the sockets: delivery to every tab and to agents, acks, idempotency."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from rest_framework.test import APIClient

from chatwidget import chat, events
from chatwidget.models import Message

from . import sockets
from .sockets import receive, send, silent

pytestmark = pytest.mark.django_db(transaction=True)


async def test_visitor_message_reaches_every_tab_and_the_agents(browser, agent_cookies):
    tab1 = await sockets.visitor(browser.raw)
    tab2 = await sockets.visitor(browser.raw)
    inbox = await sockets.agent(agent_cookies)
    conversation_id = browser.conversation.pk

    await send(tab1, type="message.send", conversationId=conversation_id, body=" Hello ",
               clientId="c-1")

    ack = await receive(tab1)
    assert ack["type"] == "message.ack"
    assert ack["clientId"] == "c-1"
    message = ack["message"]
    assert message["body"] == "Hello"
    assert message["conversationId"] == conversation_id
    assert message["sender"] == {"kind": "contact", "name": browser.contact.display_name}
    for tab in (tab1, tab2):
        created = await receive(tab)
        assert created == {"type": "message.created", "conversationId": conversation_id,
                           "message": message}
    assert await receive(inbox) == {
        "type": "message.created", "conversationId": conversation_id, "message": message,
        "unread": {"conversationId": conversation_id, "count": 1},
    }
    assert await sync_to_async(Message.objects.filter(pk=message["id"]).exists)()
    for socket in (tab1, tab2, inbox):
        assert await silent(socket)
        await socket.disconnect()


async def test_agent_reply_reaches_the_contact_with_unread_counts(browser, agent_cookies):
    tab = await sockets.visitor(browser.raw)
    inbox = await sockets.agent(agent_cookies)
    conversation_id = browser.conversation.pk

    await send(inbox, type="message.send", conversationId=conversation_id, body="Hi there",
               clientId="a-1")

    ack = await receive(inbox)
    assert ack["type"] == "message.ack"
    assert ack["message"]["sender"] == {"kind": "agent", "name": "Ada"}
    assert await receive(inbox) == {"type": "message.created",
                                    "conversationId": conversation_id, "message": ack["message"]}
    assert await receive(tab) == {"type": "message.created",
                                  "conversationId": conversation_id, "message": ack["message"]}
    unread = await receive(tab)
    assert unread == {
        "type": "unread",
        "total": 1,
        "conversations": {str(conversation_id): 1},
        "change": {"conversationId": conversation_id, "count": 1},
    }
    await tab.disconnect()
    await inbox.disconnect()


async def test_repeated_client_id_acks_the_original_and_publishes_nothing(
    browser, agent_cookies
):
    tab = await sockets.visitor(browser.raw)
    inbox = await sockets.agent(agent_cookies)
    frame = {"type": "message.send", "conversationId": browser.conversation.pk,
             "body": "once", "clientId": "retry-me"}

    await send(tab, **frame)
    first = await receive(tab)
    assert (await receive(tab))["type"] == "message.created"
    assert (await receive(inbox))["type"] == "message.created"

    await send(tab, **frame)  # a retry after a dropped ack
    second = await receive(tab)

    assert second == first
    assert await silent(tab)
    assert await silent(inbox)
    assert await sync_to_async(Message.objects.filter(client_id="retry-me").count)() == 1
    await tab.disconnect()
    await inbox.disconnect()


async def test_agent_client_id_is_idempotent_too(browser, agent_cookies):
    inbox = await sockets.agent(agent_cookies)
    frame = {"type": "message.send", "conversationId": browser.conversation.pk,
             "body": "reply", "clientId": "agent-retry"}
    await send(inbox, **frame)
    first = await receive(inbox)
    assert (await receive(inbox))["type"] == "message.created"
    await send(inbox, **frame)
    assert await receive(inbox) == first
    assert await silent(inbox)
    await inbox.disconnect()


async def test_rest_and_socket_messages_publish_identical_events(browser, agent_cookies):
    """The REST views call the same chat.* function and events.publish; so must the socket."""
    inbox = await sockets.agent(agent_cookies)
    tab = await sockets.visitor(browser.raw)
    conversation_id = browser.conversation.pk

    def post_like_rest():
        result = chat.post_contact_message(browser.contact, conversation_id, "same",
                                           client_id="rest-1")
        events.publish(result.events)

    await sync_to_async(post_like_rest)()
    rest_events = [await receive(inbox)]
    await receive(tab)  # the contact's own copy

    await send(tab, type="message.send", conversationId=conversation_id, body="same",
               clientId="socket-1")
    await receive(tab)  # ack
    socket_events = [await receive(inbox)]

    def shape(event):
        message = dict(event["message"], id=None, clientId=None, createdAt=None)
        return dict(event, message=message, unread=dict(event["unread"], count=None))

    assert [shape(e) for e in rest_events] == [shape(e) for e in socket_events]
    assert [e["type"] for e in socket_events] == ["message.created"]
    await tab.disconnect()
    await inbox.disconnect()


async def test_a_message_posted_over_rest_and_one_over_the_socket_look_the_same(
    browser, agent_cookies
):
    """Against the real REST endpoint: same events, same payloads, to the same sockets."""
    inbox = await sockets.agent(agent_cookies)
    tab = await sockets.visitor(browser.raw)
    conversation_id = browser.conversation.pk
    client = APIClient()
    client.cookies["chatwidget"] = browser.raw

    response = await sync_to_async(client.post)(
        f"/chatwidget/api/conversations/{conversation_id}/messages/",
        {"body": "same", "client_id": "rest-2"}, format="json",
    )
    assert response.status_code == 201, response.content
    rest_message = response.json()["message"]
    rest_events = [await receive(inbox)]
    assert await receive(tab) == {"type": "message.created", "conversationId": conversation_id,
                                  "message": rest_events[0]["message"]}

    await send(tab, type="message.send", conversationId=conversation_id, body="same",
               clientId="socket-2")
    socket_ack = (await receive(tab))["message"]
    socket_events = [await receive(inbox)]

    assert rest_events[0]["message"]["id"] == rest_message["id"]
    assert set(rest_message) >= set(socket_ack)
    assert {k: rest_message[k] for k in socket_ack} == dict(
        socket_ack, id=rest_message["id"], clientId="rest-2", createdAt=rest_message["createdAt"]
    )
    assert [e["type"] for e in rest_events] == [e["type"] for e in socket_events]
    assert rest_events[0]["unread"] == {"conversationId": conversation_id, "count": 1}
    assert socket_events[0]["unread"] == {"conversationId": conversation_id, "count": 2}
    await tab.disconnect()
    await inbox.disconnect()


async def test_a_send_succeeds_when_the_channel_layer_is_down(browser, monkeypatch):
    """Persistence first: the ack means committed; delivery then comes through resume."""
    tab = await sockets.visitor(browser.raw)
    layer = get_channel_layer()

    async def broken_group_send(group, message):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(layer, "group_send", broken_group_send)
    await send(tab, type="message.send", conversationId=browser.conversation.pk,
               body="kept", clientId="down-1")
    ack = await receive(tab)
    assert ack["type"] == "message.ack"
    assert await silent(tab)  # the live copy was lost with the layer

    await send(tab, type="resume", after=ack["message"]["id"] - 1)
    replayed = await receive(tab)
    assert replayed == {"type": "message.created",
                        "conversationId": browser.conversation.pk, "message": ack["message"]}
    assert (await receive(tab))["type"] == "resume.done"
    await tab.disconnect()
