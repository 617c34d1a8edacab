"""Agent endpoints for a contact's data rights: export (JSON or zip) and erase.

Beyond being an agent, each needs its own permission (``chatwidget.export_contact`` /
``chatwidget.erase_contact``): answering chats does not imply carrying a person's whole
history away or destroying it. The work is done by ``chatwidget.datarights``.
"""

from __future__ import annotations

import tempfile
from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from .. import datarights
from ..models import Contact
from . import responses as r
from .base import ChatWidgetAPIView, document, validated
from .permissions import IsAgent


class CanExportContacts(IsAgent):
    message = "Exporting a contact needs the chatwidget.export_contact permission."

    def has_permission(self, request: Request, view: Any) -> bool:
        return (super().has_permission(request, view)
                and request.user.has_perm("chatwidget.export_contact"))


class CanEraseContacts(IsAgent):
    message = "Erasing a contact needs the chatwidget.erase_contact permission."

    def has_permission(self, request: Request, view: Any) -> bool:
        return (super().has_permission(request, view)
                and request.user.has_perm("chatwidget.erase_contact"))


class ExportQuerySerializer(serializers.Serializer):
    files = serializers.BooleanField(
        required=False, default=False,
        help_text="1: a zip with export.json and the attachment files instead of JSON.",
    )


class ErasureSerializer(serializers.Serializer):
    contactIds = serializers.ListField(child=serializers.IntegerField())
    conversations = serializers.IntegerField()
    messages = serializers.IntegerField()
    attachments = serializers.IntegerField()
    tokens = serializers.IntegerField()


class EraseResponseSerializer(serializers.Serializer):
    erased = ErasureSerializer()


def get_contact(pk: int) -> Contact:
    contact = Contact.objects.filter(pk=pk).first()
    if contact is None:
        raise NotFound("No such contact.")
    return contact


def zip_response(contacts: list[Contact], *, actor: Any, for_agent: bool,
                 filename: str) -> FileResponse:
    # On disk, not in memory: attachments can add up to far more than a request's budget.
    out = tempfile.TemporaryFile()
    datarights.write_zip(out, contacts, actor=actor, for_agent=for_agent)
    out.seek(0)
    response = FileResponse(out, as_attachment=True, filename=filename,
                            content_type="application/zip")
    response["Cache-Control"] = "private, no-store"
    return response


class AgentContactExportView(ChatWidgetAPIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [CanExportContacts]

    @document(
        operation_id="agent_export_contact",
        summary="Everything stored about a contact (JSON, or a zip with files)",
        parameters=[ExportQuerySerializer],
        responses={
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="The export document (docs/data-rights.md)."
            ),
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="With files=1: export.json and the files."
            ),
            **r.errors(400, 403, 404),
        },
        tags=["agent"],
    )
    def get(self, request: Request, pk: int) -> Any:
        files = validated(ExportQuerySerializer, request.query_params)["files"]
        contact = get_contact(pk)
        if files:
            return zip_response([contact], actor=request.user, for_agent=True,
                                filename=f"chatwidget-contact-{contact.pk}.zip")
        return Response(datarights.export_contact(contact, actor=request.user, for_agent=True))


class AgentContactEraseView(ChatWidgetAPIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [CanEraseContacts]

    @document(
        operation_id="agent_erase_contact",
        summary="Erase a contact's chat data (CHATWIDGET['ERASE_MODE']) and close its sockets",
        request=None,
        responses={200: EraseResponseSerializer, **r.errors(403, 404)},
        tags=["agent"],
    )
    def post(self, request: Request, pk: int) -> Response:
        erasure = datarights.erase_contact(get_contact(pk), actor=request.user)
        return Response({"erased": {
            "contactIds": erasure.contact_ids,
            "conversations": erasure.conversations,
            "messages": erasure.messages,
            "attachments": erasure.attachments,
            "tokens": erasure.tokens,
        }})

    @document(
        operation_id="agent_delete_contact",
        summary="The same as POST .../erase/",
        request=None,
        responses={200: EraseResponseSerializer, **r.errors(403, 404)},
        tags=["agent"],
    )
    def delete(self, request: Request, pk: int) -> Response:
        return self.post(request, pk)
