"""Conversations and messages: the operations both the REST API and the sockets perform.

Each operation commits its rows and returns the events to publish; callers publish them
(``events.publish`` in sync code, after commit; ``await events.apublish`` in consumers).
Keeping both transports on these functions is what makes their events identical.

The visitor's message path is kept to two queries (the ownership-checked update that
returns the agents' new unread count, and the insert) whatever the number of agents and
tabs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import conf, events, validation
from .models import Attachment, Contact, Conversation, Message, Note
from .prepared import Prepared


class ChatError(validation.InvalidInput):
    """A refused chat operation; ``status``/``type``/``field`` become the API or socket error."""


class NotFound(ChatError):
    """Unknown, or not the caller's: the two are indistinguishable on purpose."""

    status = 404
    type = "not_found"


class ClientIdConflict(ChatError):
    """A ``client_id`` already used for a different message: a client bug, not a retry.

    Answering with the old message would tell the client its new text was delivered.
    """

    status = 409
    type = "client_id_conflict"


@dataclass
class Result:
    message: Message
    created: bool
    events: list[events.Event] = field(default_factory=list)


def validate_body(body: Any, *, allow_empty: bool = False) -> str:
    if not isinstance(body, str):
        raise ChatError("body must be a string.", field="body")
    body = validation.check_text(body, field="body").strip()
    if not body and not allow_empty:
        raise ChatError("body may not be empty.", field="body")
    limit = conf.get("MAX_MESSAGE_LENGTH")
    if len(body) > limit:
        raise ChatError(f"body is longer than {limit} characters.", field="body")
    return body


def validate_client_id(client_id: Any) -> str:
    if client_id in (None, ""):
        return ""
    if not isinstance(client_id, str) or len(client_id) > 64:
        raise ChatError("client_id must be a string of at most 64 characters.",
                        field="client_id")
    return validation.check_text(client_id, field="client_id")


# Attribute names: these characters only (the schema states the same class).
ATTRIBUTE_KEY_CHARS = "A-Za-z0-9_.-"
_ATTRIBUTE_KEY = re.compile(f"[{ATTRIBUTE_KEY_CHARS}]+")
_SCALARS = (str, int, float, bool, type(None))


def validate_attributes(value: Any, *, existing: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one rule for contact attributes and conversation custom attributes.

    Flat objects of scalars only: agents see them as a key/value table, and the limits keep
    a page script from growing a contact row without bound. ``existing`` is what the value
    will be merged into, so the limit holds for the result, not just for one call.
    Raises ``ChatError`` (without a field; the caller names it).
    """
    if not isinstance(value, dict):
        raise ChatError("Must be a JSON object of keys to scalar values.")
    max_keys = conf.get("MAX_ATTRIBUTES")
    if len(value) > max_keys or len({**(existing or {}), **value}) > max_keys:
        raise ChatError(f"At most {max_keys} attributes.")
    key_length = conf.get("MAX_ATTRIBUTE_KEY_LENGTH")
    value_length = conf.get("MAX_ATTRIBUTE_VALUE_LENGTH")
    for key, item in value.items():
        if len(key) > key_length or not _ATTRIBUTE_KEY.fullmatch(key):
            raise ChatError(
                f"Attribute names are 1 to {key_length} characters of A-Z a-z 0-9 _ . - "
                f"({key[:key_length]!r} is not)."
            )
        if not isinstance(item, _SCALARS):
            raise ChatError(
                f"Attribute {key!r} must be a string, number, boolean or null (no nesting)."
            )
        if isinstance(item, float) and not math.isfinite(item):
            raise ChatError(f"Attribute {key!r} must be a finite number.")
        if isinstance(item, str) and validation.text_problem(item):
            raise ChatError(f"Attribute {key!r} {validation.text_problem(item)}")
        if isinstance(item, str) and len(item) > value_length:
            raise ChatError(f"Attribute {key!r} is longer than {value_length} characters.")
    return value


def describe_conversation(conversation: Conversation,
                          custom_attributes: dict[str, Any]) -> list[events.Event]:
    """Merge custom attributes into the conversation; the limits hold for the result."""
    validate_attributes(custom_attributes, existing=conversation.custom_attributes)
    return update_conversation(
        conversation, custom_attributes={**conversation.custom_attributes, **custom_attributes}
    )


# ---------------------------------------------------------------- reading


def conversations_for_contact(contact: Contact | int) -> QuerySet[Conversation]:
    """A contact's conversations (given the contact or its id: the prepared overview below
    compiles it with a stand-in id)."""
    return Conversation.objects.filter(contact=contact)


def contact_overview(contact: Contact) -> list[Conversation]:
    """A contact's conversations, each with ``unread`` and ``last_id`` (its newest message),
    in one query: everything a page load's ping needs besides the messages themselves.

    ``unread`` counts as :func:`unread_for_contact` does (agent messages past the contact's
    read pointer).
    """
    return _overview(contact.pk)


def _overview_of(contact_id: int) -> QuerySet[Conversation]:
    past_pointer = Q(messages__sender_kind=Message.Sender.AGENT,
                     messages__id__gt=F("contact_last_read_id"))
    return conversations_for_contact(contact_id).annotate(
        unread=Count("messages", filter=past_pointer), last_id=Max("messages__id"))


# Every page view's query: compiled once (prepared.py).
_overview = Prepared(_overview_of, int)


def get_conversation(conversation_id: Any, *, contact: Contact | None = None) -> Conversation:
    """The conversation, or ``NotFound``: the one lookup every transport uses.

    With ``contact``, only that contact's (visitors); without, any (agents see every widget).
    """
    conversations = Conversation.objects.select_related("contact")
    if contact is not None:
        conversations = conversations.filter(contact=contact)
    else:  # agents' payloads name the assignee
        conversations = conversations.select_related("assignee")
    try:
        return conversations.get(pk=validation.parse_int(conversation_id, text=True))
    except (Conversation.DoesNotExist, validation.InvalidInput):
        raise NotFound("No such conversation.", field="conversation") from None


def get_conversation_for_contact(contact: Contact, conversation_id: Any) -> Conversation:
    return get_conversation(conversation_id, contact=contact)


def _unread_by_conversation(messages: QuerySet[Message], pointer: str) -> dict[int, int]:
    """Count ``messages`` newer than each conversation's read pointer ``pointer``."""
    rows = (
        messages.filter(id__gt=F(f"conversation__{pointer}"))
        .values_list("conversation_id")
        .annotate(n=Count("id"))
    )
    return {conversation_id: n for conversation_id, n in rows}


def unread_for_contact(contact: Contact) -> dict[int, int]:
    """Per conversation: agent messages newer than what the contact has read."""
    return _unread_by_conversation(
        Message.objects.filter(contact=contact, sender_kind=Message.Sender.AGENT),
        "contact_last_read_id",
    )


def agent_unread_counts(conversation_ids: Iterable[int]) -> dict[int, int]:
    """Per conversation: contact messages newer than the agents' read pointer."""
    return dict(
        Conversation.objects.filter(pk__in=list(conversation_ids), agent_unread_count__gt=0)
        .values_list("pk", "agent_unread_count")
    )


def unread_for_agents(conversation_id: int) -> int:
    return agent_unread_counts([conversation_id]).get(conversation_id, 0)


def _count_agent_unread(last_read: Any) -> Subquery:
    """Contact messages after ``last_read`` in the outer conversation, as one subquery."""
    return Subquery(
        Message.objects.filter(
            conversation=OuterRef("pk"), sender_kind=Message.Sender.CONTACT, id__gt=last_read
        )
        .order_by()
        .values("conversation")
        .annotate(n=Count("id"))
        .values("n")[:1]
    )


def latest_message_id(conversation: Conversation) -> int:
    return (
        Message.objects.filter(conversation=conversation)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
        or 0
    )


# ---------------------------------------------------------------- writing


def start_conversation(
    contact: Contact, *, custom_attributes: dict[str, Any] | None = None
) -> tuple[Conversation, list[events.Event]]:
    conversation = Conversation.objects.create(
        widget_id=contact.widget_id, contact=contact, custom_attributes=custom_attributes or {}
    )
    payload_visitor = {"conversation": events.conversation_payload(conversation)}
    payload_agent = {
        "conversation": events.conversation_payload(conversation, for_agent=True),
        "contact": events.contact_payload(contact),
    }
    return conversation, [
        events.Event(events.contact_group(contact.pk), events.CONVERSATION_CREATED,
                     payload_visitor),
        events.Event(events.agents_group(contact.widget_id), events.CONVERSATION_CREATED,
                     payload_agent),
    ]


def post_contact_message(
    contact: Contact,
    conversation_id: int,
    body: str,
    *,
    client_id: str = "",
    attachments: Sequence[Attachment] = (),
) -> Result:
    """A visitor's message. Idempotent by ``client_id``; 2 queries on the happy path."""
    now = timezone.now()
    try:
        with transaction.atomic():
            # The ownership check is the update itself: no row, not the caller's.
            agent_unread = _record_contact_message(conversation_id, contact, now)
            if agent_unread is None:
                raise NotFound("No such conversation.", field="conversation")
            message = Message.objects.create(
                conversation_id=conversation_id,
                contact=contact,
                sender_kind=Message.Sender.CONTACT,
                body=body,
                client_id=client_id,
                created_at=now,
            )
            if attachments:
                Attachment.objects.filter(pk__in=[a.pk for a in attachments]).update(
                    message=message
                )
    except IntegrityError:
        if not client_id:
            raise
        existing = _existing(contact, client_id, Message.Sender.CONTACT)
        return Result(_same_or_conflict(existing, conversation_id, body), created=False)
    message.contact = contact
    payload = {
        "conversationId": conversation_id,
        "message": events.message_payload(
            message, sender_name=contact.display_name, attachments=attachments
        ),
    }
    return Result(
        message,
        created=True,
        events=[
            events.Event(events.contact_group(contact.pk), events.MESSAGE_CREATED, payload),
            # The agents' new unread count rides on their copy: one frame per agent socket
            # instead of two is most of the fan-out cost of a visitor message.
            events.Event(
                events.agents_group(contact.widget_id),
                events.MESSAGE_CREATED,
                {**payload, "unread": {"conversationId": conversation_id, "count": agent_unread}},
            ),
        ],
    )


def _record_contact_message(conversation_id: int, contact: Contact, now: Any) -> int | None:
    """The conversation's side of a visitor message, if it is the contact's: its activity
    and the agents' unread count, which is returned; None when it is not the contact's.

    One ``UPDATE … RETURNING`` where the database has it (SQLite ≥ 3.35, PostgreSQL):
    the count rides on the agents' copy of every visitor message, and a second query for
    it was a third of the message path's database time. The ORM cannot return from an
    update, hence the SQL, built from the model's own table and column names.
    """
    if connection.vendor not in ("sqlite", "postgresql"):
        updated = Conversation.objects.filter(pk=conversation_id, contact=contact).update(
            last_message_at=now, updated_at=now, status=Conversation.Status.OPEN,
            agent_unread_count=F("agent_unread_count") + 1)
        return unread_for_agents(conversation_id) if updated else None
    meta, quote = Conversation._meta, connection.ops.quote_name
    table = quote(meta.db_table)
    column = {name: quote(meta.get_field(name).column) for name in (
        "id", "contact", "last_message_at", "updated_at", "status", "agent_unread_count")}
    when = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column['last_message_at']} = %s, {column['updated_at']} = %s,"
            f" {column['status']} = %s,"
            f" {column['agent_unread_count']} = {column['agent_unread_count']} + 1"
            f" WHERE {column['id']} = %s AND {column['contact']} = %s"
            f" RETURNING {column['agent_unread_count']}",
            [when, when, Conversation.Status.OPEN, conversation_id, contact.pk],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def post_agent_message(
    agent: Any,
    conversation: Conversation,
    body: str,
    *,
    client_id: str = "",
    attachments: Sequence[Attachment] = (),
    sender_name: str | None = None,
) -> Result:
    """An agent's reply; the contact's tabs get the message and their new unread counts."""
    from .adapter import get_adapter

    now = timezone.now()
    try:
        with transaction.atomic():
            Conversation.objects.filter(pk=conversation.pk).update(
                last_message_at=now, updated_at=now
            )
            message = Message.objects.create(
                conversation=conversation,
                contact_id=conversation.contact_id,
                sender_kind=Message.Sender.AGENT,
                sender_user=agent,
                body=body,
                client_id=client_id,
                created_at=now,
            )
            if attachments:
                Attachment.objects.filter(pk__in=[a.pk for a in attachments]).update(
                    message=message
                )
    except IntegrityError:
        if not client_id:
            raise
        existing = Message.objects.get(
            sender_user=agent, client_id=client_id, sender_kind=Message.Sender.AGENT
        )
        return Result(_same_or_conflict(existing, conversation.pk, body), created=False)
    conversation.last_message_at = conversation.updated_at = now
    name = sender_name or get_adapter().agent_display_name(agent)
    payload = {
        "conversationId": conversation.pk,
        "message": events.message_payload(message, sender_name=name, attachments=attachments),
    }
    counts = unread_for_contact(conversation.contact)
    contact_group = events.contact_group(conversation.contact_id)
    return Result(
        message,
        created=True,
        events=[
            events.Event(contact_group, events.MESSAGE_CREATED, payload),
            events.Event(events.agents_group(conversation.widget_id), events.MESSAGE_CREATED,
                         payload),
            events.Event(contact_group, events.UNREAD,
                         events.unread_payload(counts, conversation.pk)),
        ],
    )


@dataclass
class NoteResult:
    note: Note
    created: bool
    events: list[events.Event] = field(default_factory=list)


def post_note(agent: Any, conversation: Conversation, body: str, *, client_id: str = "",
              author_name: str | None = None) -> NoteResult:
    """A private note: published to the agents' group only, never to the contact's.

    It does not touch the conversation's activity, unread counts or read pointers, which
    visitors see; notes are kept in their own table for the same reason.
    """
    from .adapter import get_adapter

    try:
        with transaction.atomic():
            note = Note.objects.create(conversation=conversation, author=agent, body=body,
                                       client_id=client_id)
    except IntegrityError:
        if not client_id:
            raise
        return NoteResult(Note.objects.select_related("author").get(
            author=agent, client_id=client_id), created=False)
    name = author_name or get_adapter().agent_display_name(agent)
    payload = {"conversationId": conversation.pk,
               "note": events.note_payload(note, author_name=name)}
    return NoteResult(note, created=True, events=[
        events.Event(events.agents_group(conversation.widget_id), events.NOTE_CREATED, payload),
    ])


def _existing(contact: Contact, client_id: str, sender_kind: str) -> Message:
    return Message.objects.get(contact=contact, client_id=client_id, sender_kind=sender_kind)


def _same_or_conflict(existing: Message, conversation_id: int | None, body: str) -> Message:
    """A retry repeats the message exactly; anything else reusing its id is refused."""
    if existing.body != body or (conversation_id is not None
                                 and existing.conversation_id != conversation_id):
        raise ClientIdConflict(
            "client_id was already used for a different message; use a new one.",
            field="client_id",
        )
    return existing


def start_conversation_with_message(
    contact: Contact,
    body: str,
    *,
    client_id: str = "",
    custom_attributes: dict[str, Any] | None = None,
) -> tuple[Conversation, Result]:
    """A conversation and its first message; a retry (same ``client_id``) gets the original.

    Returned events are empty for a retry. The original is looked up first, so a retry
    creates no conversation; a concurrent twin that wins the race is found afterwards.
    """
    for _ in range(2):
        if client_id:
            existing = (Message.objects.select_related("conversation")
                        .filter(contact=contact, client_id=client_id,
                                sender_kind=Message.Sender.CONTACT).first())
            if existing is not None:
                _same_or_conflict(existing, None, body)
                return existing.conversation, Result(existing, created=False)
        try:
            with transaction.atomic():
                conversation, published = start_conversation(
                    contact, custom_attributes=custom_attributes
                )
                result = post_contact_message(contact, conversation.pk, body,
                                              client_id=client_id)
                if not result.created:  # the twin won: undo this conversation, find it
                    raise ClientIdConflict("retry", field="client_id")
        except ClientIdConflict:
            continue
        result.events[:0] = published
        conversation.last_message_at = conversation.updated_at = result.message.created_at
        return conversation, result
    raise ClientIdConflict("client_id was already used for a different message; use a new one.",
                           field="client_id")


def clamp_read_pointer(conversation: Conversation, up_to: int | None) -> int | None:
    """A read pointer past the newest message would hide future replies from the unread
    count and send agents a false read receipt; pin it to a real message."""
    if up_to is None:
        return None
    return (
        Message.objects.filter(conversation=conversation, id__lte=up_to)
        .order_by("-id").values_list("id", flat=True).first() or 0
    )


def mark_read_by_contact(
    contact: Contact, conversation: Conversation, up_to: int | None = None
) -> list[events.Event]:
    """Move the contact's read pointer; tabs get new unread counts, agents a read receipt."""
    last_id = latest_message_id(conversation) if up_to is None else clamp_read_pointer(
        conversation, up_to)
    Conversation.objects.filter(pk=conversation.pk, contact_last_read_id__lt=last_id).update(
        contact_last_read_id=last_id
    )
    counts = unread_for_contact(contact)
    read = {"conversationId": conversation.pk, "reader": "contact", "lastReadId": last_id}
    return [
        events.Event(events.contact_group(contact.pk), events.UNREAD,
                     events.unread_payload(counts, conversation.pk)),
        events.Event(events.thread_group(conversation.pk), events.READ, read),
    ]


def mark_read_by_agent(conversation: Conversation, up_to: int | None = None) -> list[events.Event]:
    last_id = latest_message_id(conversation) if up_to is None else clamp_read_pointer(
        conversation, up_to)
    # Pointer and count move in one statement, so a message arriving meanwhile is counted.
    Conversation.objects.filter(pk=conversation.pk, agent_last_read_id__lt=last_id).update(
        agent_last_read_id=last_id,
        agent_unread_count=Coalesce(_count_agent_unread(last_id), 0),
    )
    read = {"conversationId": conversation.pk, "reader": "agent", "lastReadId": last_id}
    change = {"conversationId": conversation.pk, "count": unread_for_agents(conversation.pk)}
    return [
        events.Event(events.contact_group(conversation.contact_id), events.READ, read),
        events.Event(events.agents_group(conversation.widget_id), events.UNREAD,
                     {"change": change}),
        events.Event(events.thread_group(conversation.pk), events.READ, read),
    ]


def update_conversation(conversation: Conversation, **changes: Any) -> list[events.Event]:
    """Assign, close, reopen or describe; both sides hear ``conversation.updated``."""
    for name, value in changes.items():
        setattr(conversation, name, value)
    conversation.updated_at = timezone.now()
    conversation.save(update_fields=[*changes, "updated_at"])
    return [
        events.Event(events.contact_group(conversation.contact_id), events.CONVERSATION_UPDATED,
                     {"conversation": events.conversation_payload(conversation)}),
        events.Event(events.agents_group(conversation.widget_id), events.CONVERSATION_UPDATED,
                     {"conversation": events.conversation_payload(conversation, for_agent=True)}),
    ]


def typing_event(conversation: Conversation, *, by_agent: bool, name: str,
                 typing: bool) -> list[events.Event]:
    payload = {
        "conversationId": conversation.pk,
        "sender": {"kind": "agent" if by_agent else "contact", "name": name},
        "typing": bool(typing),
    }
    group = (events.contact_group(conversation.contact_id) if by_agent
             else events.thread_group(conversation.pk))
    return [events.Event(group, events.TYPING, payload)]


