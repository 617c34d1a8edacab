"""The shapes the API answers with, described for the OpenAPI schema.

The payloads themselves are built by ``chatwidget.events`` (the same builders the sockets
use); these serializers only document them, so keep them in step with ``events``.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from .fields import AttributesField


class ErrorDetailSerializer(serializers.Serializer):
    type = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   required=False)


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_MEANINGS = {
    400: "Invalid input; `fields` names the offending fields.",
    401: "No valid widget token: ping to get one.",
    403: "Not allowed (CSRF token missing, not an agent, identity refused).",
    404: "Unknown, or not the caller's: the two are indistinguishable.",
    409: "A conflict: the site login owns the chat identity (identify), or the "
         "`client_id` was already used for another message (`client_id_conflict`).",
    413: "The request body is larger than the server accepts (`too_large`).",
    429: "Throttled (`throttled`): retry after `Retry-After` seconds.",
    503: "The database could not serve the request in time (`unavailable`): retry after "
         "`Retry-After` seconds.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorSerializer, description=ERROR_MEANINGS[code])
            for code in codes}


class ContactSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    identified = serializers.BooleanField()
    email = serializers.CharField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    externalId = serializers.CharField(allow_null=True)
    attributes = AttributesField()


class IdentitySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["user", "external", "anonymous"])
    userId = serializers.IntegerField(allow_null=True)
    username = serializers.CharField(allow_null=True)
    adminUrl = serializers.CharField(
        allow_null=True, help_text="The site user's admin page, if the caller may open it."
    )
    externalId = serializers.CharField(allow_null=True)


class AgentContactSerializer(ContactSerializer):
    userId = serializers.IntegerField(allow_null=True)
    displayName = serializers.CharField()
    createdAt = serializers.DateTimeField()
    lastSeenAt = serializers.DateTimeField()
    pageUrl = serializers.CharField(allow_null=True,
                                    help_text="Reported by the widget's last ping (untrusted).")
    pageTitle = serializers.CharField(allow_null=True)
    userAgent = serializers.CharField(allow_null=True)
    identity = IdentitySerializer()


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()


class SenderSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["contact", "agent", "system"])
    name = serializers.CharField()


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    conversationId = serializers.IntegerField()
    clientId = serializers.CharField(allow_null=True)
    body = serializers.CharField(allow_blank=True)
    sender = SenderSerializer()
    attachments = AttachmentSerializer(many=True)
    createdAt = serializers.DateTimeField()


class ConversationSerializer(serializers.Serializer):
    conversationId = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["open", "closed"])
    ended = serializers.BooleanField()
    isInAssistantMode = serializers.BooleanField()
    customAttributes = AttributesField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    lastMessageAt = serializers.DateTimeField(allow_null=True)


class AgentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AgentConversationSerializer(ConversationSerializer):
    contactId = serializers.IntegerField()
    assigneeId = serializers.IntegerField(allow_null=True)
    assignee = AgentSerializer(allow_null=True)
    contactLastReadId = serializers.IntegerField(
        help_text="The newest message id the visitor has read (the read receipt).")


class ConversationSummarySerializer(ConversationSerializer):
    lastMessage = MessageSerializer(allow_null=True)
    unread = serializers.IntegerField(help_text="Messages from the other side not yet read.")


class ContactSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.CharField(allow_null=True)
    identified = serializers.BooleanField()
    externalId = serializers.CharField(allow_null=True)
    userId = serializers.IntegerField(allow_null=True)


class AgentConversationSummarySerializer(AgentConversationSerializer):
    contact = ContactSummarySerializer()
    lastMessage = MessageSerializer(allow_null=True)
    preview = serializers.CharField(allow_blank=True,
                                    help_text="The last message on one line, at most 140 chars.")
    unread = serializers.IntegerField(help_text="Contact messages no agent has read yet.")


class UnreadChangeSerializer(serializers.Serializer):
    conversationId = serializers.IntegerField()
    count = serializers.IntegerField()


class UnreadSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    conversations = serializers.DictField(child=serializers.IntegerField(),
                                          help_text="Unread count per conversation id.")
    change = UnreadChangeSerializer(allow_null=True)


class WidgetConfigSerializer(serializers.Serializer):
    app_id = serializers.CharField()
    name = serializers.CharField()
    greeting = serializers.CharField()
    color = serializers.CharField()
    ask_email = serializers.BooleanField()
    agentsOnline = serializers.BooleanField(help_text="An agent has the inbox open.")
    replyTime = serializers.CharField(allow_blank=True,
                                      help_text="What to say while nobody is online.")


class LoginSerializer(serializers.Serializer):
    identified = serializers.BooleanField()
    email = serializers.CharField(allow_null=True)
    externalId = serializers.CharField(allow_null=True)
    customerId = serializers.CharField()


_TOKEN_HELP = ("Only for bearer clients (cross-origin embeds): the widget token to send as "
               "`Authorization: Bearer`. Never present for cookie clients.")


class PingResponseSerializer(serializers.Serializer):
    contact = ContactSerializer()
    conversations = ConversationSummarySerializer(many=True)
    unread = UnreadSerializer()
    widget = WidgetConfigSerializer()
    csrf_token = serializers.CharField(help_text="Send as X-CSRFToken on unsafe requests.")
    last_message_id = serializers.IntegerField(help_text="Resume point for the socket.")
    site_user = serializers.BooleanField(help_text="The site login owns the identity.")
    token = serializers.CharField(required=False, help_text=_TOKEN_HELP)


class IdentifyResponseSerializer(serializers.Serializer):
    contact = ContactSerializer()
    login = LoginSerializer()
    token = serializers.CharField(required=False, help_text=_TOKEN_HELP)


class ContactResponseSerializer(serializers.Serializer):
    contact = ContactSerializer()


class EmptySerializer(serializers.Serializer):
    pass


class ConversationListSerializer(serializers.Serializer):
    results = ConversationSummarySerializer(many=True)


class ConversationCreatedSerializer(serializers.Serializer):
    conversation = ConversationSerializer()
    message = MessageSerializer(allow_null=True)


class ConversationResponseSerializer(serializers.Serializer):
    conversation = ConversationSerializer()


class AgentConversationResponseSerializer(serializers.Serializer):
    conversation = AgentConversationSerializer()


class MessageListSerializer(serializers.Serializer):
    results = MessageSerializer(many=True)
    has_more = serializers.BooleanField()


class MessageResponseSerializer(serializers.Serializer):
    message = MessageSerializer()


class UnreadResponseSerializer(serializers.Serializer):
    unread = UnreadSerializer()


class AgentUnreadSerializer(serializers.Serializer):
    change = UnreadChangeSerializer()


class AgentUnreadResponseSerializer(serializers.Serializer):
    unread = AgentUnreadSerializer()


class AgentConversationListSerializer(serializers.Serializer):
    results = AgentConversationSummarySerializer(many=True)
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `cursor` for the next page; null on the last one."
    )


class AgentContactDetailSerializer(serializers.Serializer):
    contact = AgentContactSerializer()
    conversations = AgentConversationSummarySerializer(many=True)


class NoteAuthorSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField(allow_blank=True)


class NoteSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    conversationId = serializers.IntegerField()
    clientId = serializers.CharField(allow_null=True)
    body = serializers.CharField()
    author = NoteAuthorSerializer()
    createdAt = serializers.DateTimeField()
    private = serializers.BooleanField()


class NoteListSerializer(serializers.Serializer):
    results = NoteSerializer(many=True)
    has_more = serializers.BooleanField()


class NoteResponseSerializer(serializers.Serializer):
    note = NoteSerializer()


class SavedReplySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    shortcut = serializers.CharField()
    text = serializers.CharField()
    shared = serializers.BooleanField(help_text="Every agent's (no owner), or the caller's own.")


class SavedReplyListSerializer(serializers.Serializer):
    results = SavedReplySerializer(many=True)


class AgentPresenceSerializer(AgentSerializer):
    online = serializers.BooleanField()


class AgentListSerializer(serializers.Serializer):
    results = AgentPresenceSerializer(many=True)
    agentsOnline = serializers.BooleanField()


class AgentRootSerializer(serializers.Serializer):
    endpoints = serializers.DictField(child=serializers.CharField(),
                                      help_text="Name → path; `{id}` marks a placeholder.")
    agent = AgentSerializer()
