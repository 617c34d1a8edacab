"""A conversation's thread, the same from both sides: list, send, read.

The visitor and agent views differ only in who is asking and which ``chat`` function posts;
the paging, validation, upload handling and response shapes live here once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from .. import attachments, chat, conf, events
from ..models import Attachment, Conversation
from . import errors, payloads
from . import serializers as s
from .base import validated

Post = Callable[[dict[str, Any], list[Attachment]], chat.Result]


def page_limit(value: int | None) -> int:
    return value or min(conf.get("PAGE_SIZE"), s.MAX_PAGE)


def unread_of(event_list: list[events.Event]) -> dict[str, Any]:
    return next(e.payload for e in event_list if e.type == events.UNREAD)


def list_messages(request: Request, conversation: Conversation) -> Response:
    query = validated(s.MessagesQuerySerializer, request.query_params, query=True)
    return Response(payloads.page_of_messages(
        conversation.messages.all(), query["after"], page_limit(query.get("limit")),
        query.get("before"),
    ))


def send_message(request: Request, conversation: Conversation, post: Post) -> Response:
    """Validate everything, then store files and message together; 200 for a repeat."""
    data = validated(s.MessageCreateSerializer, request.data)
    if request.content_type.startswith("multipart/") and not data["files"]:
        raise errors.field_error("files", "A multipart message carries files; send text as JSON.")
    uploads = attachments.check_uploads(data["files"])
    result = attachments.post_with_attachments(
        conversation, uploads, lambda stored: post(data, stored)
    )
    events.publish(result.events)
    return Response({"message": payloads.created_message(result)},
                    status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


def read_up_to(request: Request, conversation: Conversation,
               mark: Callable[[int | None], list[events.Event]]) -> Response:
    up_to = validated(s.ReadSerializer, request.data).get("last_read_id")
    published = mark(up_to)
    events.publish(published)
    return Response({"unread": unread_of(published)})
