"""The visitor's endpoints: what the widget on a site's pages calls.

Views only translate HTTP to ``identity``/``chat`` calls and publish the events those return,
so a message sent here and one sent over the socket are indistinguishable to every client.
"""

from __future__ import annotations

from typing import Any

from django.middleware.csrf import get_token
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from .. import agents, chat, events, identity
from ..models import Contact, Conversation, Widget, WidgetToken
from . import errors, payloads, threads, throttling
from . import responses as r
from . import serializers as s
from .authentication import PingAuthentication, VisitorAuthentication, site_user, widget_session
from .base import ChatWidgetAPIView, JSONParser, MultiPartParser, document, validated
from .cors import CrossOriginMixin
from .permissions import IsVisitor


def widget_config(widget: Widget) -> dict[str, Any]:
    return {
        "app_id": widget.app_id,
        "name": widget.name,
        "greeting": widget.greeting,
        "color": widget.color,
        "ask_email": widget.ask_email,
        "agentsOnline": agents.shown_online(),
        "replyTime": widget.reply_time,
    }


class VisitorView(CrossOriginMixin, ChatWidgetAPIView):
    authentication_classes = [VisitorAuthentication]
    permission_classes = [IsVisitor]

    def contact(self, request: Request) -> Contact:
        return request.auth.contact

    def conversation(self, request: Request, pk: int) -> Conversation:
        return chat.get_conversation(pk, contact=self.contact(request))

    def token_for_bearer(self, request: Request, data: dict[str, Any]) -> dict[str, Any]:
        """Bearer clients learn a rotated token from the body; cookie clients never see it."""
        session = widget_session(request)
        if session.from_bearer and session.raw:
            data["token"] = session.raw
        return data


class PingView(VisitorView):
    authentication_classes = [PingAuthentication]
    permission_classes = [AllowAny]
    throttle_classes = throttling.PingThrottles

    @document(
        operation_id="ping",
        summary="Resolve or create this browser's contact",
        description=(
            "Called on every load and after a 401 or a logout. A browser whose site session "
            "is logged in becomes that user's contact; one with a valid token keeps its "
            "contact; any other becomes a new anonymous contact and gets the HttpOnly widget "
            "cookie (or, with `transport: bearer` and no cookie, a token in the body). "
            "Needs no CSRF token."
        ),
        request=s.PingSerializer,
        responses={200: r.PingResponseSerializer, **r.errors(400, 404)},
        auth=[{"widgetCookie": []}, {"widgetBearer": []}, {}],
        tags=["visitor"],
    )
    def post(self, request: Request) -> Response:
        params = validated(s.PingSerializer, request.data)
        session = widget_session(request)
        session.select_app(params.get("app_id"))
        if (params.get("transport") == "bearer" and not session.from_bearer
                and session.cookie_name not in request.COOKIES):
            # A cross-origin embed's first ping: it cannot use the cookie, so the token it
            # receives must not be set as one.
            session.from_bearer = True
        widget = self.widget(params.get("app_id"), session.token)
        contact = self.resolve(request, widget)
        identity.touch(contact, page_url=params.get("page_url", ""),
                       page_title=params.get("page_title", ""),
                       user_agent=request.META.get("HTTP_USER_AGENT", ""))

        conversations = chat.contact_overview(contact)
        counts = {c.pk: c.unread for c in conversations if c.unread}
        last_id = max((c.last_id or 0 for c in conversations), default=0)
        data = {
            "contact": events.contact_payload(contact),
            "conversations": payloads.conversation_summaries(conversations, counts),
            "unread": events.unread_payload(counts, None),
            "widget": widget_config(widget),
            "csrf_token": get_token(request._request),
            "last_message_id": last_id or 0,
            "site_user": bool(site_user(request).is_authenticated),
        }
        return Response(self.token_for_bearer(request, data))

    def widget(self, app_id: str | None, token: WidgetToken | None) -> Widget:
        # From the token when it is its own: its embed origins answer this very response.
        widget = identity.token_widget(token, app_id)
        if widget is not None:
            return widget
        try:
            return identity.get_widget(app_id)
        except Widget.DoesNotExist:
            raise errors.unknown_app_id() from None

    def resolve(self, request: Request, widget: Widget) -> Contact:
        """DESIGN §2 for a loading widget: site login, else the token, else a new visitor."""
        session = widget_session(request)
        decision = identity.decide(session.token, site_user(request), widget,
                                   identity.Transport.PING)
        session.apply(decision, widget)
        if decision.action in (identity.Action.REVOKE, identity.Action.REFUSE):
            # No identity this widget may use: the browser becomes a new visitor.
            session.set_token(identity.create_anonymous(widget))
        return session.token.contact


class IdentifyView(VisitorView):
    throttle_classes = throttling.IdentifyThrottles

    @document(
        operation_id="identify",
        summary="Become a verified external identity",
        description=(
            "For sites whose login is not Django's. `user_hash` must be "
            "hex(HMAC-SHA256(identity secret, external_id)). The anonymous history moves to "
            "the identified contact and the token is rotated. Refused (409) while the site "
            "session is logged in: the site login owns the identity."
        ),
        request=s.IdentifySerializer,
        responses={200: r.IdentifyResponseSerializer, **r.errors(400, 401, 403, 409)},
        tags=["visitor"],
    )
    def post(self, request: Request) -> Response:
        data = validated(s.IdentifySerializer, request.data)
        token = request.auth
        try:
            issued = identity.identify_external(
                token,
                token.contact.widget,
                data["external_id"],
                user_hash=data.get("user_hash"),
                site_user=site_user(request),
                attributes=data.get("attributes"),
                email=data.get("email"),
                name=data.get("name"),
            )
        except identity.VerificationFailed as exc:
            # The core names the SDK's option (userHash); this API's field is user_hash.
            raise errors.field_error("user_hash", exc.message, type=exc.type,
                                     status_code=exc.status) from exc
        if issued is not None:
            widget_session(request).set_token(issued)
            contact = issued.token.contact
        else:
            contact = Contact.objects.get(pk=token.contact_id)
        data = {"contact": events.contact_payload(contact),
                "login": events.login_payload(contact)}
        return Response(self.token_for_bearer(request, data))


class AttributesView(VisitorView):
    @document(
        operation_id="set_attributes",
        summary="Merge custom attributes into the contact",
        request=s.AttributesSerializer,
        responses={200: r.ContactResponseSerializer, **r.errors(400, 401, 403)},
        tags=["visitor"],
    )
    def post(self, request: Request) -> Response:
        data = validated(s.AttributesSerializer, request.data)
        contact = self.contact(request)
        s.merged_attributes("attributes", data["attributes"], contact.attributes)
        identity.update_contact(contact, attributes=data["attributes"],
                                email=data.get("email"), name=data.get("name"))
        return Response({"contact": events.contact_payload(contact)})


class LogoutView(VisitorView):
    @document(
        operation_id="logout",
        summary="End this browser's chat identity",
        description="Revokes the token (every tab hears `logout`); ping again for a new "
                    "anonymous contact.",
        request=None,
        responses={200: r.EmptySerializer, **r.errors(401, 403)},
        tags=["visitor"],
    )
    def post(self, request: Request) -> Response:
        identity.logout(request.auth)
        widget_session(request).clear()
        return Response({})


class ConversationsView(VisitorView):
    throttle_classes = throttling.ConversationThrottles

    @document(
        operation_id="list_conversations",
        responses={200: r.ConversationListSerializer, **r.errors(401)},
        tags=["visitor"],
    )
    def get(self, request: Request) -> Response:
        contact = self.contact(request)
        conversations = chat.conversations_for_contact(contact)
        results = payloads.conversation_summaries(conversations, chat.unread_for_contact(contact))
        return Response({"results": results})

    @document(
        operation_id="start_conversation",
        summary="Start a conversation, optionally with its first message",
        description="Sending the same `client_id` again returns the original conversation "
                    "and message with status 200.",
        request=s.ConversationCreateSerializer,
        responses={201: r.ConversationCreatedSerializer, 200: r.ConversationCreatedSerializer,
                   **r.errors(400, 401, 403, 409)},
        tags=["visitor"],
    )
    def post(self, request: Request) -> Response:
        data = validated(s.ConversationCreateSerializer, request.data)
        contact = self.contact(request)
        attributes = data.get("custom_attributes")
        if data.get("body") is None:
            conversation, published = chat.start_conversation(contact,
                                                              custom_attributes=attributes)
            events.publish(published)
            return Response({"conversation": events.conversation_payload(conversation),
                             "message": None}, status=status.HTTP_201_CREATED)
        conversation, result = chat.start_conversation_with_message(
            contact, data["body"], client_id=data["client_id"], custom_attributes=attributes
        )
        events.publish(result.events)
        return Response(
            {"conversation": events.conversation_payload(conversation),
             "message": payloads.created_message(result)},
            # A retried request: the conversation its first attempt made stands.
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class ConversationView(VisitorView):
    @document(
        operation_id="get_conversation",
        responses={200: r.ConversationSummarySerializer, **r.errors(401, 404)},
        tags=["visitor"],
    )
    def get(self, request: Request, pk: int) -> Response:
        conversation = self.conversation(request, pk)
        counts = chat.unread_for_contact(self.contact(request))
        return Response(payloads.conversation_summaries([conversation], counts)[0])


class MessagesView(VisitorView):
    parser_classes = [JSONParser, MultiPartParser]
    throttle_classes = [throttling.MessageIPThrottle, throttling.MessageThrottle,
                        throttling.UploadQuotaThrottle]

    @document(
        operation_id="list_messages",
        parameters=[s.MessagesQuerySerializer],
        responses={200: r.MessageListSerializer, **r.errors(400, 401, 404)},
        tags=["visitor"],
    )
    def get(self, request: Request, pk: int) -> Response:
        return threads.list_messages(request, self.conversation(request, pk))

    @document(
        operation_id="send_message",
        summary="Send a message (JSON, or multipart with files)",
        description="Idempotent by `client_id`: a repeat answers 200 with the original "
                    "message. Files are typed from their bytes, never from the name or the "
                    "declared content type.",
        request={"application/json": s.MessageTextSerializer,
                 "multipart/form-data": s.MessageFilesSerializer},
        responses={201: r.MessageResponseSerializer, 200: r.MessageResponseSerializer,
                   **r.errors(400, 401, 403, 404, 409)},
        tags=["visitor"],
    )
    def post(self, request: Request, pk: int) -> Response:
        contact = self.contact(request)
        return threads.send_message(
            request,
            self.conversation(request, pk),
            lambda data, stored: chat.post_contact_message(
                contact, pk, data["body"], client_id=data["client_id"], attachments=stored
            ),
        )


class DescribeView(VisitorView):
    @document(
        operation_id="describe_conversation",
        summary="Merge custom attributes into the conversation",
        request=s.DescribeSerializer,
        responses={200: r.ConversationResponseSerializer, **r.errors(400, 401, 403, 404)},
        tags=["visitor"],
    )
    def post(self, request: Request, pk: int) -> Response:
        conversation = self.conversation(request, pk)
        new = validated(s.DescribeSerializer, request.data)["custom_attributes"]
        try:
            published = chat.describe_conversation(conversation, new)
        except chat.ChatError as exc:
            raise errors.field_error("custom_attributes", exc.message) from exc
        events.publish(published)
        return Response({"conversation": events.conversation_payload(conversation)})


class ReadView(VisitorView):
    @document(
        operation_id="mark_read",
        request=s.ReadSerializer,
        responses={200: r.UnreadResponseSerializer, **r.errors(400, 401, 403, 404)},
        tags=["visitor"],
    )
    def post(self, request: Request, pk: int) -> Response:
        conversation = self.conversation(request, pk)
        contact = self.contact(request)
        return threads.read_up_to(
            request, conversation,
            lambda up_to: chat.mark_read_by_contact(contact, conversation, up_to),
        )
