"""List payloads built from ``events``' builders in a fixed number of queries.

A conversation list shows each conversation's last message and unread count; fetching
those per row would cost queries per conversation, so they are fetched for the whole page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import Max

from .. import chat, events
from ..models import Contact, Conversation, Message


def messages_with_relations(queryset: Any) -> Any:
    """What ``events.message_payload`` reads, loaded up front."""
    return queryset.select_related("contact", "sender_user").prefetch_related("attachments")


def message_list(messages: Iterable[Message]) -> list[dict[str, Any]]:
    return [events.message_payload(m) for m in messages]


def last_messages(conversation_ids: Sequence[int]) -> dict[int, Message]:
    if not conversation_ids:
        return {}
    last_ids = (
        Message.objects.filter(conversation_id__in=conversation_ids)
        .order_by()
        .values("conversation_id")
        .annotate(last=Max("id"))
        .values_list("last", flat=True)
    )
    messages = messages_with_relations(Message.objects.filter(pk__in=list(last_ids)))
    return {m.conversation_id: m for m in messages}


def contact_summary(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "name": contact.display_name,
        "email": contact.email or None,
        "identified": contact.is_identified,
        "externalId": contact.external_id,
        "userId": contact.user_id,
    }


def conversation_summaries(
    conversations: Iterable[Conversation],
    unread: dict[int, int],
    *,
    for_agent: bool = False,
) -> list[dict[str, Any]]:
    """Conversation payloads with ``lastMessage`` and ``unread``; agents also get the contact.

    Agent callers must ``select_related("contact")``.
    """
    conversations = list(conversations)
    last = last_messages([c.pk for c in conversations])
    results = []
    for conversation in conversations:
        data = events.conversation_payload(conversation, for_agent=for_agent)
        if for_agent:
            data["contact"] = contact_summary(conversation.contact)
        message = last.get(conversation.pk)
        data["lastMessage"] = events.message_payload(message) if message else None
        data["unread"] = unread.get(conversation.pk, 0)
        results.append(data)
    return results


def agent_summaries(conversations: Iterable[Conversation]) -> list[dict[str, Any]]:
    conversations = list(conversations)
    unread = chat.agent_unread_counts(c.pk for c in conversations)
    return conversation_summaries(conversations, unread, for_agent=True)


def agent_contact(contact: Contact) -> dict[str, Any]:
    return {
        **events.contact_payload(contact),
        "userId": contact.user_id,
        "displayName": contact.display_name,
        "createdAt": events.timestamp(contact.created_at),
        "lastSeenAt": events.timestamp(contact.last_seen_at),
    }


def created_message(result: chat.Result) -> dict[str, Any]:
    """The message as its event carried it, or as stored when the send was a repeat."""
    for event in result.events:
        if event.type == events.MESSAGE_CREATED:
            return event.payload["message"]
    return events.message_payload(result.message)


def page_of_messages(queryset: Any, after: int, limit: int) -> dict[str, Any]:
    """``{results, has_more}``: one row past the limit tells whether more follow."""
    rows = list(messages_with_relations(queryset.filter(id__gt=after).order_by("id"))[: limit + 1])
    return {"results": message_list(rows[:limit]), "has_more": len(rows) > limit}
