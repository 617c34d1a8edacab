"""REST and the sockets are two doors to the same rules.

Each scenario runs once over the REST API and once over a real websocket, on fresh but
identical data, and compares what the caller got back and every event published to the
contact's and the agents' groups and the conversation's thread group (ids and times made
symbolic).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from chatwidget import chat, events
from chatwidget.models import Conversation, Message

from .channels import sockets
from .channels.conftest import new_browser

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_error_logs")]

API = "/chatwidget/api/"
# REST field names → the socket's camelCase.
FRAME_FIELDS = {"client_id": "clientId", "conversation": "conversationId",
                "last_read_id": "lastReadId"}
# Which table an id names, by its key (message payloads' own "id" is the message's).
ID_KINDS = {"id": "message", "conversationId": "conversation", "lastReadId": "message",
            "contactId": "contact", "customerId": "contact"}
TIME_KEYS = {"createdAt", "updatedAt", "lastMessageAt"}
SENTINEL = "parity.sentinel"


@dataclass
class Outcome:
    """What the caller learns: the message, or an error code and the field it names."""

    ok: bool
    message: dict[str, Any] | None = None
    code: str | None = None
    field: str | None = None


@dataclass
class World:
    """One transport's fresh copy: a browser (contact + conversation), the agent, events."""

    browser: Any
    agent: Any
    listener: str
    contact_name: str
    names: dict[tuple[str, int], str] = field(default_factory=dict)

    def name(self, kind: str, pk: int, label: str | None = None) -> str:
        """The symbolic name of an id; unnamed messages become m1, m2... in order seen."""
        if (kind, pk) not in self.names:
            count = sum(1 for k, _ in self.names if k == kind)
            self.names[(kind, pk)] = label or f"{kind[0]}{count + 1}"
        return self.names[(kind, pk)]


def new_agent() -> Any:
    """An agent per world: agents' client ids are unique per agent, across conversations."""
    agent = get_user_model().objects.create_user(
        f"agent-{get_user_model().objects.count()}", first_name="Ada", is_staff=True
    )
    agent.user_permissions.add(Permission.objects.get(codename="use_inbox"))
    return get_user_model().objects.get(pk=agent.pk)


async def make_world(widget) -> World:
    browser = await sync_to_async(new_browser)(widget)
    agent = await sync_to_async(new_agent)()
    layer = get_channel_layer()
    listener = await layer.new_channel()
    for group in (events.contact_group(browser.contact.pk), events.agents_group(widget.pk),
                  events.thread_group(browser.conversation.pk)):
        await layer.group_add(group, listener)
    name = await sync_to_async(lambda: browser.contact.display_name)()
    world = World(browser, agent, listener, name)
    world.name("conversation", browser.conversation.pk, "conversation")
    world.name("contact", browser.contact.pk, "contact")
    return world


async def published(world: World) -> list[dict[str, Any]]:
    """Everything published so far, in order: read until our own sentinels come back."""
    layer = get_channel_layer()
    groups = (events.contact_group(world.browser.contact.pk),
              events.agents_group(world.browser.contact.widget_id),
              events.thread_group(world.browser.conversation.pk))
    for group in groups:
        # A catalogue-shaped message: a socket in the group forwards it and moves on.
        await layer.group_send(group, {"type": events.LAYER_TYPE, "event": SENTINEL,
                                       "payload": {}})
    seen, sentinels = [], 0
    while sentinels < len(groups):
        message = await layer.receive(world.listener)
        if message["event"] == SENTINEL:
            sentinels += 1
        else:
            # What a socket would send: the frame text the publisher encoded, less its name.
            payload = json.loads(events.frame_text(message))
            del payload["type"]
            seen.append({"event": message["event"], "payload": payload})
    return [symbolic(world, item) for item in seen]


def symbolic(world: World, value: Any, key: str | None = None) -> Any:
    """Ids become names (message ids m1, m2... in order seen); times and names vanish."""
    if isinstance(value, dict):
        # Unread counts are keyed by conversation id.
        return {(world.name("conversation", int(k)) if re.fullmatch(r"[0-9]+", k) else k):
                symbolic(world, v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [symbolic(world, v, key) for v in value]
    if key in TIME_KEYS and value is not None:
        return "<time>"
    if value == world.contact_name:
        return "<contact name>"
    if key in ID_KINDS and isinstance(value, int | str) and re.fullmatch(r"[0-9]+", str(value)):
        return world.name(ID_KINDS[key], int(value)) if int(value) else 0
    return value


# ---------------------------------------------------------------- the two transports


class Rest:
    def __init__(self, world: World, *, as_agent: bool = False) -> None:
        self.world, self.as_agent = world, as_agent
        self.client = APIClient()

    async def open(self) -> Rest:
        if self.as_agent:
            await sync_to_async(self.client.force_login)(self.world.agent)
        else:
            self.client.cookies["chatwidget"] = self.world.browser.raw
        return self

    async def close(self) -> None:
        pass

    def base(self, conversation_id: int) -> str:
        side = "agent/" if self.as_agent else ""
        return f"{API}{side}conversations/{conversation_id}/"

    async def post(self, url: str, data: dict[str, Any]) -> Any:
        return await sync_to_async(self.client.generic)(
            "POST", url, json.dumps(data), content_type="application/json"
        )

    def outcome(self, response: Any, key: str | None) -> Outcome:
        body = response.json()
        if response.status_code >= 400:
            assert response.status_code < 500, body
            error = body["error"]
            fields = list(error.get("fields") or [])
            code = "invalid_field" if error["type"] == "invalid" else error["type"]
            name = FRAME_FIELDS.get(fields[0], fields[0]) if fields else None
            return Outcome(False, code=code, field=name)
        return Outcome(True, message=symbolic(self.world, body[key]) if key else None)

    async def send(self, conversation_id: int, body: str, client_id: str) -> Outcome:
        response = await self.post(self.base(conversation_id) + "messages/",
                                    {"body": body, "client_id": client_id})
        return self.outcome(response, "message")

    async def read(self, conversation_id: int, last_read_id: int) -> Outcome:
        response = await self.post(self.base(conversation_id) + "read/",
                                   {"last_read_id": last_read_id})
        return self.outcome(response, None)  # the socket has no reply: compare the events


class Socket:
    def __init__(self, world: World, *, as_agent: bool = False) -> None:
        self.world, self.as_agent = world, as_agent
        self.socket = None

    async def open(self) -> Socket:
        if self.as_agent:
            client = APIClient()
            await sync_to_async(client.force_login)(self.world.agent)
            self.socket = await sockets.agent({"sessionid": client.cookies["sessionid"].value})
        else:
            self.socket = await sockets.visitor(self.world.browser.raw)
        return self

    async def close(self) -> None:
        await self.socket.disconnect()

    async def frame(self, **frame: Any) -> dict[str, Any] | None:
        """Send a frame; the reply, if any. A ping after it proves the handler finished
        (a consumer handles its frames one at a time), so its events are published."""
        await sockets.send(self.socket, **frame)
        await sockets.send(self.socket, type="ping")
        reply = None
        while True:
            received = await sockets.receive(self.socket)
            if received["type"] == "pong":
                return reply
            if received["type"] in ("message.ack", "error"):
                reply = received

    def outcome(self, reply: dict[str, Any] | None, key: str) -> Outcome:
        if reply is not None and reply["type"] == "error":
            assert reply["code"] != "server_error", reply
            return Outcome(False, code=reply["code"], field=reply.get("field"))
        return Outcome(True, message=symbolic(self.world, reply[key]) if reply else None)

    async def send(self, conversation_id: int, body: str, client_id: str) -> Outcome:
        reply = await self.frame(type="message.send", conversationId=conversation_id,
                                 body=body, clientId=client_id)
        return self.outcome(reply, "message")

    async def read(self, conversation_id: int, last_read_id: int) -> Outcome:
        reply = await self.frame(type="read", conversationId=conversation_id,
                                 lastReadId=last_read_id)
        return self.outcome(reply, "unread")


async def both(widget, scenario, *, as_agent: bool = False) -> None:
    """Run ``scenario(world, transport)`` over REST and over a socket; results must match."""
    results = []
    for transport_class in (Rest, Socket):
        world = await make_world(widget)
        transport = await transport_class(world, as_agent=as_agent).open()
        await published(world)  # start from an empty queue
        try:
            results.append(await scenario(world, transport))
        finally:
            await transport.close()
    rest, socket = results
    assert rest == socket


def stored(world: World, transport: Any) -> list[dict[str, Any]]:
    return [
        {"body": m.body, "client_id": m.client_id, "sender": m.sender_kind}
        for m in Message.objects.filter(contact=world.browser.contact).order_by("id")
    ]


# ---------------------------------------------------------------- scenarios


@pytest.mark.parametrize("as_agent", [False, True], ids=["visitor", "agent"])
async def test_send_gives_the_same_message_and_events(widget, as_agent):
    async def scenario(world, transport):
        outcome = await transport.send(world.browser.conversation.pk, "  Hello  ", "c-1")
        return outcome, await published(world)

    await both(widget, scenario, as_agent=as_agent)


@pytest.mark.parametrize("as_agent", [False, True], ids=["visitor", "agent"])
async def test_retry_returns_the_original_and_publishes_nothing(widget, as_agent):
    async def scenario(world, transport):
        first = await transport.send(world.browser.conversation.pk, "Once", "c-1")
        await published(world)
        again = await transport.send(world.browser.conversation.pk, "Once", "c-1")
        assert again == first
        return again, await published(world), await sync_to_async(stored)(world, transport)

    await both(widget, scenario, as_agent=as_agent)


@pytest.mark.parametrize("as_agent", [False, True], ids=["visitor", "agent"])
async def test_reused_client_id_with_other_content_is_a_conflict(widget, as_agent):
    async def scenario(world, transport):
        conversation = world.browser.conversation
        await transport.send(conversation.pk, "Original", "c-1")
        await published(world)
        other_body = await transport.send(conversation.pk, "Different text", "c-1")
        second, _ = await sync_to_async(chat.start_conversation)(world.browser.contact)
        world.name("conversation", second.pk, "second")
        await published(world)
        other_place = await transport.send(second.pk, "Original", "c-1")
        assert other_body == other_place == Outcome(False, code="client_id_conflict",
                                                    field="clientId")
        return (other_body, other_place, await published(world),
                await sync_to_async(stored)(world, transport))

    await both(widget, scenario, as_agent=as_agent)


async def contact_and_agent_messages(world: World) -> int:
    """One message from each side; returns the newest id."""
    def post() -> int:
        contact = world.browser.contact
        conversation = world.browser.conversation
        chat.post_contact_message(contact, conversation.pk, "From the visitor")
        return chat.post_agent_message(world.agent, conversation, "From the agent").message.pk

    newest = await sync_to_async(post)()
    await published(world)
    return newest


def pointers(world: World) -> tuple[int, int]:
    conversation = Conversation.objects.get(pk=world.browser.conversation.pk)
    return conversation.contact_last_read_id, conversation.agent_last_read_id


@pytest.mark.parametrize("as_agent", [False, True], ids=["visitor", "agent"])
async def test_read_pointer_past_the_newest_message_is_clamped(widget, as_agent):
    async def scenario(world, transport):
        newest = await contact_and_agent_messages(world)
        outcome = await transport.read(world.browser.conversation.pk, newest + 10**9)
        contact_read, agent_read = await sync_to_async(pointers)(world)
        assert (agent_read if as_agent else contact_read) == newest
        # A later reply from the other side counts as unread again.
        other = await sync_to_async(
            chat.post_contact_message if as_agent else chat.post_agent_message
        )(*((world.browser.contact, world.browser.conversation.pk) if as_agent
            else (world.agent, world.browser.conversation)), "Later")
        assert other.message.pk > newest
        return outcome, await published(world)

    await both(widget, scenario, as_agent=as_agent)


@pytest.mark.parametrize("as_agent", [False, True], ids=["visitor", "agent"])
@pytest.mark.parametrize("body", ["", "   ", "a\x00b", "bad \ud800 text", "x" * 5001])
async def test_bad_bodies_are_refused_alike(widget, as_agent, body):
    async def scenario(world, transport):
        outcome = await transport.send(world.browser.conversation.pk, body, "c-1")
        assert not outcome.ok
        return outcome, await published(world), await sync_to_async(stored)(world, transport)

    await both(widget, scenario, as_agent=as_agent)


async def test_another_contacts_conversation_is_not_found_alike(widget):
    stranger = await sync_to_async(new_browser)(widget)

    async def scenario(world, transport):
        sent = await transport.send(stranger.conversation.pk, "Hi", "c-1")
        read = await transport.read(stranger.conversation.pk, 1)
        assert sent == read == Outcome(False, code="not_found", field="conversationId")
        return sent, read, await published(world)

    await both(widget, scenario)


@pytest.mark.parametrize("as_agent", [False, True], ids=["visitor", "agent"])
async def test_bad_read_pointers_are_refused_alike(widget, as_agent):
    async def scenario(world, transport):
        negative = await transport.read(world.browser.conversation.pk, -1)
        huge = await transport.read(world.browser.conversation.pk, 2**63)
        assert negative.field == huge.field == "lastReadId"
        return negative, huge, await published(world)

    await both(widget, scenario, as_agent=as_agent)
