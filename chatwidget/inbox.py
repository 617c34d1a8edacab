"""The agents' conversation list: filters, search and a cursor stable under new messages.

Rows are ordered by last activity, ``(updated_at, id)`` descending; every message,
assignment, close and reopen moves ``updated_at``. The cursor is that key of a page's last
row, so the next page starts strictly after it (keyset paging): a conversation that gets a
message meanwhile jumps to the top, which the inbox learns live from the socket, and no
other row is repeated or skipped.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from .chat import ChatError
from .models import Conversation, Message

FILTERS = ("open", "mine", "unassigned", "closed", "all")


def conversations(agent: Any, *, filter: str = "all", q: str = "", status: str | None = None,
                  assignee: str | None = None, contact: int | None = None
                  ) -> QuerySet[Conversation]:
    """The conversations an inbox filter shows, newest activity first."""
    queryset = Conversation.objects.all()
    if filter in ("open", "mine", "unassigned"):
        queryset = queryset.filter(status=Conversation.Status.OPEN)
    elif filter == "closed":
        queryset = queryset.filter(status=Conversation.Status.CLOSED)
    if filter == "mine" or assignee == "me":
        queryset = queryset.filter(assignee=agent)
    elif filter == "unassigned" or assignee == "none":
        queryset = queryset.filter(assignee__isnull=True)
    elif assignee:
        queryset = queryset.filter(assignee_id=int(assignee))
    if status:
        queryset = queryset.filter(status=status)
    if contact:
        queryset = queryset.filter(contact_id=contact)
    if q:
        in_messages = Message.objects.filter(conversation=OuterRef("pk"), body__icontains=q)
        queryset = queryset.filter(
            Q(contact__name__icontains=q)
            | Q(contact__email__icontains=q)
            | Q(contact__external_id__icontains=q)
            | Exists(in_messages)
        )
    return queryset.order_by("-updated_at", "-id")


def encode_cursor(conversation: Conversation) -> str:
    key = f"{conversation.updated_at.isoformat()}|{conversation.pk}"
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, pk = raw.rsplit("|", 1)
        moment = datetime.fromisoformat(stamp)
        if moment.tzinfo is None:
            raise ValueError
        return moment, int(pk)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ChatError("Not a cursor from this list.", field="cursor") from None


def page(queryset: QuerySet[Conversation], cursor: str | None,
         limit: int) -> tuple[list[Conversation], str | None]:
    """One page after ``cursor`` and the cursor of the next (``None`` on the last page)."""
    if cursor:
        moment, pk = decode_cursor(cursor)
        queryset = queryset.filter(Q(updated_at__lt=moment) | Q(updated_at=moment, id__lt=pk))
    rows = list(queryset[: limit + 1])
    rows, more = rows[:limit], len(rows) > limit
    return rows, encode_cursor(rows[-1]) if more else None
