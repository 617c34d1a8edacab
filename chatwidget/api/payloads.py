"""List payloads built from ``events``' builders in a fixed number of queries.

A conversation list shows each conversation's last message and unread count; fetching
those per row would cost queries per conversation, so they are fetched for the whole page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import Exists, Max, OuterRef
from django.template.defaultfilters import truncatechars
from django.urls import NoReverseMatch, reverse

from .. import chat, events
from ..models import Attachment, Contact, Conversation, Message
from ..prepared import Prepared


def messages_with_senders(queryset: Any) -> Any:
    """The rows ``events.message_payload`` reads its sender's name from, joined."""
    return queryset.select_related("contact", "sender_user")


def messages_with_relations(queryset: Any) -> Any:
    """What ``events.message_payload`` reads, loaded up front."""
    return messages_with_senders(queryset).prefetch_related("attachments")


def message_list(messages: Iterable[Message]) -> list[dict[str, Any]]:
    return [events.message_payload(m) for m in messages]


def last_messages(conversation_ids: Sequence[int],
                  last_ids: Sequence[int] | None = None,
                  ) -> dict[int, tuple[Message, list[Attachment]]]:
    """Each conversation's newest message with its attachments; ``last_ids`` when the caller
    already knows them."""
    if not conversation_ids:
        return {}
    if last_ids is None:
        last_ids = list(
            Message.objects.filter(conversation_id__in=conversation_ids)
            .order_by()
            .values("conversation_id")
            .annotate(last=Max("id"))
            .values_list("last", flat=True)
        )
    last_ids = [pk for pk in last_ids if pk is not None]
    if not last_ids:
        return {}
    if len(last_ids) == 1:
        # Every page view of a visitor with one conversation asks this: compiled once
        # (prepared.py), and the attachments only read when the message has any.
        messages = _message_by_id(last_ids[0])
        return {m.conversation_id: (m, _attachments_of(m.pk) if m.has_attachments else [])
                for m in messages}
    messages = messages_with_relations(Message.objects.filter(pk__in=last_ids))
    return {m.conversation_id: (m, list(m.attachments.all())) for m in messages}


_message_by_id = Prepared(
    lambda pk: messages_with_senders(Message.objects.filter(pk=pk))
    .annotate(has_attachments=Exists(Attachment.objects.filter(message=OuterRef("pk"))))
    .order_by(), int)
_attachments_of = Prepared(lambda message_id: Attachment.objects.filter(message_id=message_id),
                           int)


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
    # chat.contact_overview annotates each conversation's newest message id.
    known = all(hasattr(c, "last_id") for c in conversations)
    last = last_messages([c.pk for c in conversations],
                         [c.last_id for c in conversations] if known else None)
    results = []
    for conversation in conversations:
        data = events.conversation_payload(conversation, for_agent=for_agent)
        if for_agent:
            data["contact"] = contact_summary(conversation.contact)
        newest = last.get(conversation.pk)
        data["lastMessage"] = (events.message_payload(newest[0], attachments=newest[1])
                               if newest else None)
        data["unread"] = unread.get(conversation.pk, 0)
        results.append(data)
    return results


PREVIEW_LENGTH = 140


def preview(message: dict[str, Any] | None) -> str:
    """The list's one-line summary of a conversation's last message."""
    if message is None:
        return ""
    if not message["body"] and message["attachments"]:
        return f"\N{PAPERCLIP} {message['attachments'][0]['name']}"
    return truncatechars(" ".join(message["body"].split()), PREVIEW_LENGTH)


def agent_summaries(conversations: Iterable[Conversation]) -> list[dict[str, Any]]:
    """Inbox rows. Callers ``select_related("contact", "assignee")``; a fixed number of
    queries whatever the page size (the unread count is a column of the row)."""
    conversations = list(conversations)
    unread = {c.pk: c.agent_unread_count for c in conversations}
    rows = conversation_summaries(conversations, unread, for_agent=True)
    for row in rows:
        row["preview"] = preview(row["lastMessage"])
    return rows


def identity(contact: Contact, viewer: Any) -> dict[str, Any]:
    """Who the contact is, for the contact panel; the admin link only for whoever may use it."""
    user = contact.user
    if user is not None:
        opts = user._meta
        admin_url = None
        if viewer.has_perm(f"{opts.app_label}.view_{opts.model_name}") or viewer.has_perm(
                f"{opts.app_label}.change_{opts.model_name}"):
            try:
                admin_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change",
                                    args=[user.pk])
            except NoReverseMatch:
                admin_url = None
        return {"kind": "user", "userId": user.pk, "username": user.get_username(),
                "adminUrl": admin_url, "externalId": None}
    if contact.external_id is not None:
        return {"kind": "external", "userId": None, "username": None, "adminUrl": None,
                "externalId": contact.external_id}
    return {"kind": "anonymous", "userId": None, "username": None, "adminUrl": None,
            "externalId": None}


def agent_contact(contact: Contact, viewer: Any = None) -> dict[str, Any]:
    data = {
        **events.contact_payload(contact),
        "userId": contact.user_id,
        "displayName": contact.display_name,
        "createdAt": events.timestamp(contact.created_at),
        "lastSeenAt": events.timestamp(contact.last_seen_at),
        "pageUrl": contact.page_url or None,
        "pageTitle": contact.page_title or None,
        "userAgent": contact.user_agent or None,
    }
    if viewer is not None:
        data["identity"] = identity(contact, viewer)
    return data


def created_message(result: chat.Result) -> dict[str, Any]:
    """The message as its event carried it, or as stored when the send was a repeat."""
    for event in result.events:
        if event.type == events.MESSAGE_CREATED:
            return event.payload["message"]
    return events.message_payload(result.message)


def page_of_messages(queryset: Any, after: int, limit: int,
                     before: int | None = None) -> dict[str, Any]:
    """``{results, has_more}``: one row past the limit tells whether more follow.

    With ``before``, the newest ``limit`` rows below it (loading older history on scroll),
    still oldest first; ``has_more`` then says whether even older ones exist.
    """
    if before is not None:
        newest_first = queryset.filter(id__gt=after, id__lt=before).order_by("-id")
        rows = list(messages_with_relations(newest_first)[: limit + 1])
        return {"results": message_list(reversed(rows[:limit])), "has_more": len(rows) > limit}
    rows = list(messages_with_relations(queryset.filter(id__gt=after).order_by("id"))[: limit + 1])
    return {"results": message_list(rows[:limit]), "has_more": len(rows) > limit}


def note_page(queryset: Any, after: int, limit: int) -> dict[str, Any]:
    rows = list(queryset.filter(id__gt=after).select_related("author").order_by("id")[: limit + 1])
    return {"results": [events.note_payload(n) for n in rows[:limit]],
            "has_more": len(rows) > limit}
