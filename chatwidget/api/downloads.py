"""Serving an attachment to the people in its conversation, and never as a web page.

Only the visitor owning the conversation (cookie or bearer) and agents may fetch it; anyone
else gets the same 404 as for a missing file. Files are served with ``nosniff``, a
sandboxing CSP and ``Content-Disposition: attachment`` unless they are raster images, so an
uploaded file can never run script on the site's origin.
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.request import Request

from ..adapter import get_adapter
from ..attachments import INLINE_TYPES
from ..models import Attachment, WidgetToken
from . import responses as r
from .authentication import VisitorAuthentication
from .base import ChatWidgetAPIView, document
from .cors import CrossOriginMixin


class AnyAccept(BaseContentNegotiation):
    """``<img>`` asks for ``image/*``: a file view must not answer 406 to that.

    Errors are still rendered as JSON.
    """

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: list[Any],
                        format_suffix: str | None = None) -> tuple[Any, str]:
        return renderers[0], renderers[0].media_type


def may_read(request: Request, attachment: Attachment) -> bool:
    token = request.auth
    if isinstance(token, WidgetToken) and token.contact_id == attachment.conversation.contact_id:
        return True
    return get_adapter().is_agent(request.user)


class AttachmentDownloadView(CrossOriginMixin, ChatWidgetAPIView):
    # Visitors first: an agent's browser may also hold a widget cookie, and either works.
    authentication_classes = [VisitorAuthentication, SessionAuthentication]
    permission_classes = [AllowAny]
    content_negotiation_class = AnyAccept

    @document(
        operation_id="download_attachment",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, typed from its bytes."
            ),
            **r.errors(404),
        },
        tags=["visitor", "agent"],
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        attachment = Attachment.objects.select_related("conversation").filter(pk=pk).first()
        if attachment is None or not may_read(request, attachment):
            raise NotFound("No such attachment.")
        inline = attachment.content_type in INLINE_TYPES
        response = FileResponse(
            attachment.file.open("rb"),
            as_attachment=not inline,
            filename=attachment.name,
            content_type=attachment.content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        # Identity-linked content: never kept by shared caches, nor after a logout.
        response["Cache-Control"] = "private, no-store"
        return response
