"""The agent API: everything the inbox does, for the inbox itself and for integrations.

Session authentication (the admin login) plus the adapter's ``is_agent``; everything else
goes through ``chat``, like the visitor side, so both hear the same events.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from .. import chat, conf, events
from ..adapter import get_adapter
from ..models import Contact, Conversation, Message
from . import errors, payloads, threads, throttling
from . import responses as r
from . import serializers as s
from .base import ChatWidgetAPIView, JSONParser, MultiPartParser, document, validated
from .permissions import IsAgent


def filter_conversations(queryset: Any, query: dict[str, Any], agent: Any) -> Any:
    if "status" in query:
        queryset = queryset.filter(status=query["status"])
    assignee = query.get("assignee")
    if assignee == "me":
        queryset = queryset.filter(assignee=agent)
    elif assignee == "none":
        queryset = queryset.filter(assignee__isnull=True)
    elif assignee:
        queryset = queryset.filter(assignee_id=int(assignee))
    if "contact" in query:
        queryset = queryset.filter(contact_id=query["contact"])
    if query.get("q"):
        text = query["q"]
        in_messages = Message.objects.filter(conversation=OuterRef("pk"), body__icontains=text)
        queryset = queryset.filter(
            Q(contact__name__icontains=text)
            | Q(contact__email__icontains=text)
            | Exists(in_messages)
        )
    if "after" in query:
        queryset = queryset.filter(id__lt=query["after"])
    return queryset


class AgentView(ChatWidgetAPIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAgent]

    def conversation(self, pk: int) -> Conversation:
        return chat.get_conversation(pk)

    def changed(self, conversation: Conversation, **changes: Any) -> Response:
        events.publish(chat.update_conversation(conversation, **changes))
        return Response({"conversation": events.conversation_payload(conversation,
                                                                     for_agent=True)})


class AgentConversationsView(AgentView):
    @document(
        operation_id="agent_list_conversations",
        summary="Conversations, newest first, filtered",
        parameters=[s.AgentConversationsQuerySerializer],
        responses={200: r.AgentConversationListSerializer, **r.errors(400, 403)},
        tags=["agent"],
    )
    def get(self, request: Request) -> Response:
        query = validated(s.AgentConversationsQuerySerializer, request.query_params,
                          query=True)
        limit = threads.page_limit(query.get("limit"))
        queryset = filter_conversations(
            Conversation.objects.select_related("contact"), query, request.user
        )
        rows = list(queryset.order_by("-id")[: limit + 1])
        page = rows[:limit]
        return Response({
            "results": payloads.agent_summaries(page),
            "next_after": page[-1].pk if len(rows) > limit else None,
        })


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
        contact = Contact.objects.filter(pk=pk).first()
        if contact is None:
            raise NotFound("No such contact.")
        conversations = contact.conversations.select_related("contact").order_by("-id")
        return Response({
            "contact": payloads.agent_contact(contact),
            "conversations": payloads.agent_summaries(conversations[: conf.get("PAGE_SIZE")]),
        })
