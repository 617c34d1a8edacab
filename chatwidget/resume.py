"""Replaying what a reconnecting socket missed, from the database (the source of truth).

A client remembers the highest message id it has seen and sends it on reconnect; the
server replays every ``message.created`` after it, in id order. On SQLite that is exact:
one writer at a time, so ids commit in order. On PostgreSQL (or MySQL) ids come from a
sequence and concurrent transactions may commit out of order: message 10 can become
visible after message 11 was delivered. A client that saw 11 and then dropped would never
ask for 10. So on those backends resume also replays the *late window*: messages at or
below ``after`` created within :data:`LATE_COMMIT_WINDOW` of the message the client last
saw. Clients de-duplicate by id (the SDK does), which makes delivery exactly-once as
observed by the user. Within one conversation ids always commit in order (each write
starts by updating the conversation row, which serialises them), so the window only
matters across conversations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from . import conf, events
from .models import Contact, Message
from .prepared import PreparedBatches

# Longest plausible time between a message's created_at (taken before its transaction)
# and its commit, lock waits included; those transactions take milliseconds. Generous: the
# cost is a few duplicate frames.
LATE_COMMIT_WINDOW = timedelta(seconds=10)


@dataclass
class Replay:
    """``message.created`` payloads to send, in id order, and whether more remain."""

    payloads: list[dict[str, Any]] = field(default_factory=list)
    last_id: int = 0
    more: bool = False


def ids_commit_in_order() -> bool:
    return connection.vendor == "sqlite"


def _late_commits(messages: QuerySet[Message], after_id: int, limit: int) -> list[Message]:
    anchor = (
        Message.objects.filter(id__lte=after_id).order_by("-id")
        .values_list("created_at", flat=True).first()
    )
    if anchor is None:
        return []
    late = messages.filter(id__lte=after_id, created_at__gte=anchor - LATE_COMMIT_WINDOW)
    # The newest of them: a busy inbox must not turn one resume into a flood.
    return sorted(late.order_by("-id")[:limit], key=lambda message: message.pk)


def _replay(messages: QuerySet[Message], after_id: int, limit: int | None) -> Replay:
    limit = limit or conf.get("RESUME_LIMIT")
    messages = (
        messages.select_related("sender_user", "contact")
        .prefetch_related("attachments")
        .order_by("id")
    )
    page = list(messages.filter(id__gt=after_id)[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    if after_id > 0 and not ids_commit_in_order():
        page = _late_commits(messages, after_id, limit) + page
    replay = Replay(more=more, last_id=after_id)
    for message in page:
        replay.payloads.append(
            {"conversationId": message.conversation_id,
             "message": events.message_payload(message)}
        )
        replay.last_id = max(replay.last_id, message.pk)
    return replay


def last_id_for_contact(contact: Contact) -> int:
    """The newest message id a contact's tabs should have seen (the ``pong`` gap check)."""
    return (Message.objects.filter(contact=contact).order_by("-id")
            .values_list("id", flat=True).first() or 0)


def last_id_for_agents() -> int:
    return Message.objects.order_by("-id").values_list("id", flat=True).first() or 0


def for_contact(contact: Contact | int, after_id: int, *,
                limit: int | None = None) -> Replay:
    """Everything the contact's tabs missed: its messages in all its conversations."""
    return _replay(Message.objects.filter(contact=contact), after_id, limit)


def for_contacts(asks: list[tuple[int, int]]) -> dict[tuple[int, int], Replay]:
    """:func:`for_contact` for sockets opening together, by (contact id, after).

    A reconnecting page nearly always holds everything already (it pinged a moment ago),
    so where ids commit in order one query finds the few contacts with anything newer and
    only those are replayed. Elsewhere the late window may hold messages below ``after``,
    and every ask is replayed as :func:`for_contact` would.
    """
    behind = (set(_contacts_with_newer(asks)) if ids_commit_in_order()
              else {contact_id for contact_id, _ in asks})
    return {(contact_id, after_id): (for_contact(contact_id, after_id)
                                     if contact_id in behind else Replay(last_id=after_id))
            for contact_id, after_id in asks}


def _newer(*asks: tuple[int, int]) -> QuerySet[Message]:
    condition = Q()
    for contact_id, after_id in asks:
        condition |= Q(contact_id=contact_id, id__gt=after_id)
    return Message.objects.filter(condition).order_by().values_list(
        "contact_id", flat=True).distinct()


# A burst of handshakes asks this: compiled once per batch size (prepared.py).
_contacts_with_newer = PreparedBatches(_newer, int, int)


def for_agents(after_id: int, *, widget_ids: list[int] | None = None,
               conversation_id: int | None = None, limit: int | None = None) -> Replay:
    """What an agent socket missed: every message of the widgets it serves (or one thread)."""
    messages = Message.objects.all()
    if widget_ids is not None:
        messages = messages.filter(conversation__widget_id__in=widget_ids)
    if conversation_id is not None:
        messages = messages.filter(conversation_id=conversation_id)
    return _replay(messages, after_id, limit)
