"""THE catalogue of server events: their names, payload builders and delivery.

REST views and consumers both go through here, so a message posted over REST and one
sent over a socket produce identical events. The SDK mirrors the names in one table
(static/chatwidget/chatwidget.js, ``SERVER_EVENTS``); docs/protocol.md documents them.

Delivery is best-effort by design: messages are committed before they are published, so
a channel-layer outage (Redis down) loses no data; clients recover through resume.

Each event is encoded to its frame text once, here, and the layer carries that text: every
socket of a group forwards it as it is (``send(text_data=...)``), so the cost of JSON
encoding does not grow with the number of tabs and agents listening, and the in-memory
layer's per-member copy of a message copies one string instead of a payload tree.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

if TYPE_CHECKING:
    from .models import Attachment, Contact, Conversation, Message, Note

logger = logging.getLogger("chatwidget.events")

# Server → client event types.
MESSAGE_CREATED = "message.created"
CONVERSATION_CREATED = "conversation.created"
CONVERSATION_UPDATED = "conversation.updated"
UNREAD = "unread"
TYPING = "typing"
READ = "read"
LOGIN = "login"
LOGOUT = "logout"
CONTACT_UPDATED = "contact.updated"
ERROR = "error"
# Sent by a consumer, never published: the channel layer may have dropped events for this
# socket (overflow, Redis reconnect); the client resumes from ``after`` (docs/protocol.md).
RESYNC = "resync"
# Agent sockets only: never published to a visitor group, so the SDK does not know them.
NOTE_CREATED = "note.created"
AGENT_PRESENCE = "agent.presence"
# A contact's data was erased (data rights): inboxes drop its conversations from view.
CONTACT_ERASED = "contact.erased"

CATALOGUE = (
    MESSAGE_CREATED,
    CONVERSATION_CREATED,
    CONVERSATION_UPDATED,
    UNREAD,
    TYPING,
    READ,
    LOGIN,
    LOGOUT,
    CONTACT_UPDATED,
    ERROR,
    RESYNC,
)

AGENT_ONLY = (NOTE_CREATED, AGENT_PRESENCE, CONTACT_ERASED)

# The channel-layer message type every consumer handles (method ``chatwidget_event``).
LAYER_TYPE = "chatwidget.event"


def contact_group(contact_id: int) -> str:
    """All sockets of a contact: every tab on every device."""
    return f"contact.{contact_id}"


def token_group(token_id: int) -> str:
    """All tabs of one browser (one widget token)."""
    return f"token.{token_id}"


def agents_group(widget_id: int) -> str:
    return f"agents.{widget_id}"


def thread_group(conversation_id: int) -> str:
    """Agent sockets showing this conversation's thread (the ``watch`` frame).

    What only an open thread shows (typing, read receipts) goes here rather than to
    :func:`agents_group`, so an inbox over a thousand open conversations is not sent the
    typing of every visitor (docs/protocol.md, "Agents at scale").
    """
    return f"thread.{conversation_id}"


def user_group(user_id: int) -> str:
    """Every socket of one site user: its visitor tabs and its inbox, on every device."""
    return f"user.{user_id}"


# Server-internal: tells a user's sockets to re-check their credential now (consumer
# method ``chatwidget_recheck``); never forwarded to a client, so not in the catalogue.
RECHECK_LAYER_TYPE = "chatwidget.recheck"


def recheck_users(user_ids: Iterable[int]) -> None:
    """After the commit, ask these users' sockets to re-check (logout, password change...)."""
    groups = [user_group(pk) for pk in user_ids]
    if groups:
        transaction.on_commit(lambda: _send_raw(groups, {"type": RECHECK_LAYER_TYPE}))


def _send_raw(groups: list[str], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:  # the periodic recheck still closes the socket, later
            logger.warning("chatwidget: could not ask %s to re-check", group, exc_info=True)


def encode_frame(kind: str, payload: dict[str, Any]) -> str:
    """The frame text a socket sends for an event; the event name wins over a payload's
    own ``type`` key. The only place an event is encoded (tests count its calls)."""
    return json.dumps({**payload, "type": kind}, separators=(",", ":"))


class LayerMessage(dict):
    """A layer message holding only strings and ints: copying it shallowly is copying it.

    Channels' in-memory layer deep-copies a group message for every member (a receiver
    must not see another's changes); for these values a shallow copy is the same copy,
    at a fraction of the cost per socket.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> LayerMessage:
        return LayerMessage(self)


@dataclass(frozen=True)
class Event:
    group: str
    type: str
    payload: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def text(self) -> str:
        return encode_frame(self.type, self.payload)

    def layer_message(self) -> dict[str, Any]:
        """What the layer carries: the encoded frame, plus what a consumer or the layer
        must know without decoding it (the event name, the chat message's id)."""
        message = LayerMessage(type=LAYER_TYPE, event=self.type, text=self.text)
        inner = self.payload.get("message") if self.type == MESSAGE_CREATED else None
        if isinstance(inner, dict) and isinstance(inner.get("id"), int):
            message["messageId"] = inner["id"]
        return message


def frame_text(message: dict[str, Any]) -> str:
    """The frame text of a layer message.

    A message without ``text`` comes from an older worker during a rolling deploy (it
    carried the payload itself), or from a site's own code: encoded here, once per socket.
    """
    text = message.get("text")
    if isinstance(text, str):
        return text
    return encode_frame(message["event"], message.get("payload") or {})


# ---------------------------------------------------------------- payload builders


def timestamp(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def attachment_payload(attachment: Attachment) -> dict[str, Any]:
    from django.urls import reverse

    return {
        "id": attachment.pk,
        "name": attachment.name,
        "url": reverse("chatwidget:attachment", args=[attachment.pk]),
        "size": attachment.size,
        "content_type": attachment.content_type,
    }


def message_payload(
    message: Message,
    *,
    sender_name: str | None = None,
    attachments: Iterable[Attachment] | None = None,
) -> dict[str, Any]:
    """The wire shape of a message, identical for REST responses and socket events.

    ``sender_name`` and ``attachments`` may be passed by callers that already hold them, so
    the hot path does no extra query.
    """
    if attachments is None:
        attachments = message.attachments.all()
    if sender_name is None:
        sender_name = message_sender_name(message)
    return {
        "id": message.pk,
        "conversationId": message.conversation_id,
        "clientId": message.client_id or None,
        "body": message.body,
        "sender": {"kind": message.sender_kind, "name": sender_name},
        "attachments": [attachment_payload(a) for a in attachments],
        "createdAt": timestamp(message.created_at),
    }


def message_sender_name(message: Message) -> str:
    from .adapter import get_adapter

    if message.sender_kind == "agent" and message.sender_user is not None:
        return get_adapter().agent_display_name(message.sender_user)
    if message.sender_kind == "contact":
        return message.contact.display_name
    return ""


def conversation_payload(conversation: Conversation, *, for_agent: bool = False) -> dict[str, Any]:
    """Conversation fields; agents also see the assignee and the contact id."""
    data: dict[str, Any] = {
        "conversationId": conversation.pk,
        "status": conversation.status,
        "ended": conversation.status == "closed",
        "isInAssistantMode": False,
        "customAttributes": conversation.custom_attributes,
        "createdAt": timestamp(conversation.created_at),
        "updatedAt": timestamp(conversation.updated_at),
        "lastMessageAt": timestamp(conversation.last_message_at),
    }
    if for_agent:
        data["contactId"] = conversation.contact_id
        data["assigneeId"] = conversation.assignee_id
        data["assignee"] = agent_ref(conversation.assignee) if conversation.assignee_id else None
        # Where the visitor's read receipt stands, for a thread opened after the event.
        data["contactLastReadId"] = conversation.contact_last_read_id
    return data


def agent_ref(user: Any) -> dict[str, Any]:
    from .adapter import get_adapter

    return {"id": user.pk, "name": get_adapter().agent_display_name(user)}


def note_payload(note: Note, *, author_name: str | None = None) -> dict[str, Any]:
    """A private note, for agents only (REST and ``note.created``)."""
    from .adapter import get_adapter

    if author_name is None:
        author_name = get_adapter().agent_display_name(note.author) if note.author else ""
    return {
        "id": note.pk,
        "conversationId": note.conversation_id,
        "clientId": note.client_id or None,
        "body": note.body,
        "author": {"id": note.author_id, "name": author_name},
        "createdAt": timestamp(note.created_at),
        "private": True,
    }


def contact_payload(contact: Contact) -> dict[str, Any]:
    """What the visitor's own browser may know of its contact (no secrets, no token)."""
    return {
        "id": contact.pk,
        "identified": contact.is_identified,
        "email": contact.email or None,
        "name": contact.name or None,
        "externalId": contact.external_id,
        "attributes": contact.attributes,
    }


def login_payload(contact: Contact) -> dict[str, Any]:
    """Kustomer's onLogin shape."""
    return {
        "identified": contact.is_identified,
        "email": contact.email or None,
        "externalId": contact.external_id,
        "customerId": str(contact.pk),
    }


def unread_payload(counts: dict[int, int], conversation_id: int | None) -> dict[str, Any]:
    """Kustomer's onUnread shape: ``{total, change: {conversationId, count}}``."""
    change = None
    if conversation_id is not None:
        change = {"conversationId": conversation_id, "count": counts.get(conversation_id, 0)}
    return {
        "total": sum(counts.values()),
        "conversations": {str(k): v for k, v in counts.items()},
        "change": change,
    }


# ---------------------------------------------------------------- delivery


def publish(events: Iterable[Event]) -> None:
    """Send events once the surrounding transaction commits (never for rolled-back data)."""
    events = list(events)
    if events:
        transaction.on_commit(lambda: _send_now(events))


def _send_now(events: list[Event]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for event in events:
        try:
            async_to_sync(layer.group_send)(event.group, event.layer_message())
        except Exception:  # the layer is a delivery accelerator, never a source of truth
            logger.warning("chatwidget: could not publish %s to %s", event.type, event.group,
                           exc_info=True)


async def apublish(events: Iterable[Event]) -> None:
    """Async twin of :func:`publish` for consumers; call it after the data is committed."""
    layer = get_channel_layer()
    if layer is None:
        return
    for event in events:
        try:
            await layer.group_send(event.group, event.layer_message())
        except Exception:
            logger.warning("chatwidget: could not publish %s to %s", event.type, event.group,
                           exc_info=True)
