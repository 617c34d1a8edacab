"""The agent API: everything the inbox does, for the inbox itself and for integrations.

Session authentication (the admin login) or a DRF token (bots), plus the adapter's
``is_agent``; everything else goes through ``chat``, like the visitor side, so both hear
the same events. docs/agent-api.md is the tour.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from .. import agents, chat, conf, events, inbox
from ..adapter import get_adapter
from ..models import Contact, Conversation, SavedReply
from . import errors, payloads, threads, throttling
from . import responses as r
from . import serializers as s
from .authentication import AgentTokenAuthentication
from .base import ChatWidgetAPIView, JSONParser, MultiPartParser, document, validated
from .permissions import IsAgent

# What the root lists: name → URL name (and whether it takes a conversation/contact id).
ENDPOINTS = {
    "conversations": ("agent-conversations", False),
    "conversation": ("agent-conversation", True),
    "messages": ("agent-messages", True),
    "notes": ("agent-notes", True),
    "assign": ("agent-assign", True),
    "close": ("agent-close", True),
    "reopen": ("agent-reopen", True),
    "read": ("agent-read", True),
    "contact": ("agent-contact", True),
    "saved_replies": ("agent-saved-replies", False),
    "agents": ("agent-agents", False),
    "schema": ("schema", False),
}
ID_PLACEHOLDER = 999999999


class AgentView(ChatWidgetAPIView):
    authentication_classes = [SessionAuthentication, AgentTokenAuthentication]
    permission_classes = [IsAgent]

    def conversation(self, pk: int) -> Conversation:
        return chat.get_conversation(pk)

    def changed(self, conversation: Conversation, **changes: Any) -> Response:
        events.publish(chat.update_conversation(conversation, **changes))
        return Response({"conversation": events.conversation_payload(conversation,
                                                                     for_agent=True)})


class AgentRootView(AgentView):
    @document(
        operation_id="agent_root",
        summary="The agent API's endpoints",
        responses={200: r.AgentRootSerializer, **r.errors(403)},
        tags=["agent"],
    )
    def get(self, request: Request) -> Response:
        endpoints = {}
        for name, (url_name, with_id) in ENDPOINTS.items():
            path = reverse(f"chatwidget:{url_name}", args=[ID_PLACEHOLDER] if with_id else [])
            endpoints[name] = path.replace(str(ID_PLACEHOLDER), "{id}")
        endpoints["socket"] = "/ws/chatwidget/agent/"
        return Response({
            "endpoints": endpoints,
            "agent": {"id": request.user.pk,
                      "name": get_adapter().agent_display_name(request.user)},
        })


class AgentConversationsView(AgentView):
    @document(
        operation_id="agent_list_conversations",
        summary="The inbox list: last activity first, filtered, searched, by cursor",
        parameters=[s.AgentConversationsQuerySerializer],
        responses={200: r.AgentConversationListSerializer, **r.errors(400, 403)},
        tags=["agent"],
    )
    def get(self, request: Request) -> Response:
        query = validated(s.AgentConversationsQuerySerializer, request.query_params,
                          query=True)
        queryset = inbox.conversations(
            request.user, filter=query["filter"], q=query.get("q", ""),
            status=query.get("status"), assignee=query.get("assignee"),
            contact=query.get("contact"),
        ).select_related("contact", "assignee")
        rows, next_cursor = inbox.page(queryset, query.get("cursor"),
                                       threads.page_limit(query.get("limit")))
        return Response({"results": payloads.agent_summaries(rows), "next_cursor": next_cursor})


class AgentConversationView(AgentView):
    @document(
        operation_id="agent_get_conversation",
        responses={200: r.AgentConversationSummarySerializer, **r.errors(403, 404)},
        tags=["agent"],
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(payloads.agent_summaries([self.conversation(pk)])[0])


class AgentMessagesView(AgentView):
    parser_classes = [JSONParser, MultiPartParser]
    # The agent socket's message budget, shared.
    throttle_classes = [throttling.MessageThrottle]

    @document(
        operation_id="agent_list_messages",
        parameters=[s.MessagesQuerySerializer],
        responses={200: r.MessageListSerializer, **r.errors(400, 403, 404)},
        tags=["agent"],
    )
    def get(self, request: Request, pk: int) -> Response:
        return threads.list_messages(request, self.conversation(pk))

    @document(
        operation_id="agent_send_message",
        summary="Reply (JSON, or multipart with files)",
        request={"application/json": s.MessageTextSerializer,
                 "multipart/form-data": s.MessageFilesSerializer},
        responses={201: r.MessageResponseSerializer, 200: r.MessageResponseSerializer,
                   **r.errors(400, 403, 404, 409)},
        tags=["agent"],
    )
    def post(self, request: Request, pk: int) -> Response:
        conversation = self.conversation(pk)
        return threads.send_message(
            request,
            conversation,
            lambda data, stored: chat.post_agent_message(
                request.user, conversation, data["body"], client_id=data["client_id"],
                attachments=stored,
            ),
        )


class AssignView(AgentView):
    @document(
        operation_id="agent_assign",
        request=s.AssignSerializer,
        responses={200: r.AgentConversationResponseSerializer, **r.errors(400, 403, 404)},
        tags=["agent"],
    )
    def post(self, request: Request, pk: int) -> Response:
        conversation = self.conversation(pk)
        assignee_id = validated(s.AssignSerializer, request.data)["assignee_id"]
        assignee = None
        if assignee_id is not None:
            assignee = get_user_model().objects.filter(pk=assignee_id).first()
            if assignee is None or not get_adapter().is_agent(assignee):
                raise errors.field_error("assignee_id", "No agent has this user id.",
                                         type="not_found", status_code=404)
        return self.changed(conversation, assignee=assignee)


class CloseView(AgentView):
    @document(
        operation_id="agent_close", request=None,
        responses={200: r.AgentConversationResponseSerializer, **r.errors(403, 404)},
        tags=["agent"],
    )
    def post(self, request: Request, pk: int) -> Response:
        return self.changed(self.conversation(pk), status=Conversation.Status.CLOSED)


class ReopenView(AgentView):
    @document(
        operation_id="agent_reopen", request=None,
        responses={200: r.AgentConversationResponseSerializer, **r.errors(403, 404)},
        tags=["agent"],
    )
    def post(self, request: Request, pk: int) -> Response:
        return self.changed(self.conversation(pk), status=Conversation.Status.OPEN)


class AgentReadView(AgentView):
    @document(
        operation_id="agent_mark_read",
        request=s.ReadSerializer,
        responses={200: r.AgentUnreadResponseSerializer, **r.errors(400, 403, 404)},
        tags=["agent"],
    )
    def post(self, request: Request, pk: int) -> Response:
        conversation = self.conversation(pk)
        return threads.read_up_to(
            request, conversation, lambda up_to: chat.mark_read_by_agent(conversation, up_to)
        )


class AgentContactView(AgentView):
    @document(
        operation_id="agent_get_contact",
        responses={200: r.AgentContactDetailSerializer, **r.errors(403, 404)},
        tags=["agent"],
    )
    def get(self, request: Request, pk: int) -> Response:
        contact = Contact.objects.select_related("user").filter(pk=pk).first()
        if contact is None:
            raise NotFound("No such contact.")
        conversations = (contact.conversations.select_related("contact", "assignee")
                         .order_by("-updated_at", "-id"))
        return Response({
            "contact": payloads.agent_contact(contact, request.user),
            "conversations": payloads.agent_summaries(conversations[: conf.get("PAGE_SIZE")]),
        })


class NotesView(AgentView):
    @document(
        operation_id="agent_list_notes",
        parameters=[s.NotesQuerySerializer],
        responses={200: r.NoteListSerializer, **r.errors(400, 403, 404)},
        tags=["agent"],
    )
    def get(self, request: Request, pk: int) -> Response:
        query = validated(s.NotesQuerySerializer, request.query_params)
        return Response(payloads.note_page(self.conversation(pk).notes.all(), query["after"],
                                           threads.page_limit(query.get("limit"))))

    @document(
        operation_id="agent_add_note",
        summary="A private note: agents only, never on any visitor path",
        request=s.NoteCreateSerializer,
        responses={201: r.NoteResponseSerializer, 200: r.NoteResponseSerializer,
                   **r.errors(400, 403, 404)},
        tags=["agent"],
    )
    def post(self, request: Request, pk: int) -> Response:
        conversation = self.conversation(pk)
        data = validated(s.NoteCreateSerializer, request.data)
        result = chat.post_note(request.user, conversation, data["body"],
                                client_id=data["client_id"])
        events.publish(result.events)
        return Response({"note": events.note_payload(result.note)},
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class SavedRepliesView(AgentView):
    @document(
        operation_id="agent_saved_replies",
        summary="Shared saved replies and the caller's own, for /shortcut completion",
        parameters=[s.SavedRepliesQuerySerializer],
        responses={200: r.SavedReplyListSerializer, **r.errors(400, 403)},
        tags=["agent"],
    )
    def get(self, request: Request) -> Response:
        text = validated(s.SavedRepliesQuerySerializer, request.query_params).get("q", "")
        replies = SavedReply.objects.filter(Q(owner__isnull=True) | Q(owner=request.user))
        if text:
            replies = replies.filter(Q(shortcut__istartswith=text) | Q(text__icontains=text))
        return Response({"results": [
            {"id": reply.pk, "shortcut": reply.shortcut, "text": reply.text,
             "shared": reply.owner_id is None}
            for reply in replies[: conf.get("PAGE_SIZE")]
        ]})


class AgentsView(AgentView):
    @document(
        operation_id="agent_list_agents",
        summary="Every agent and whether they have the inbox open",
        responses={200: r.AgentListSerializer, **r.errors(403)},
        tags=["agent"],
    )
    def get(self, request: Request) -> Response:
        online = agents.online_user_ids()
        adapter = get_adapter()
        return Response({
            "results": [{"id": user.pk, "name": adapter.agent_display_name(user),
                         "online": user.pk in online} for user in agents.agent_users()],
            "agentsOnline": bool(online),
        })
