"""The chat's data: widgets, contacts and their tokens, conversations and messages."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def _new_identity_secret() -> str:
    return secrets.token_urlsafe(32)


class Widget(models.Model):
    """One embeddable chat: its public app_id, its HMAC secret, its appearance."""

    app_id = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    # Signs identify() calls for non-Django identities; never sent to a browser.
    identity_secret = models.CharField(max_length=128, default=_new_identity_secret)
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Origins (scheme://host[:port]) allowed to embed this widget cross-origin."),
    )
    greeting = models.CharField(max_length=500, blank=True, default="Hi! How can we help?")
    color = models.CharField(max_length=7, default="#2563eb")
    ask_email = models.BooleanField(
        default=True, help_text=_("Ask anonymous visitors for an email (lead capture).")
    )
    reply_time = models.CharField(
        max_length=200, blank=True, default="We usually reply within a few hours.",
        help_text=_("Shown in the widget while no agent is online."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.app_id})"


class Contact(models.Model):
    """A chat identity: anonymous, bound to a site user, or to a verified external id."""

    widget = models.ForeignKey(Widget, on_delete=models.CASCADE, related_name="contacts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="chat_contacts",
    )
    # NULL, not "", means "no external id", so anonymous contacts stay out of the unique key.
    external_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    email = models.EmailField(blank=True)
    name = models.CharField(max_length=200, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    # An anonymous contact folded into an identified one keeps a pointer for the audit trail.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    # What the widget's last ping reported, for the agents' contact panel. Visitor-supplied.
    page_url = models.CharField(max_length=2000, blank=True)
    page_title = models.CharField(max_length=300, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["widget", "user"],
                condition=Q(user__isnull=False),
                name="chatwidget_contact_one_per_user",
            ),
            models.UniqueConstraint(
                fields=["widget", "external_id"],
                condition=Q(external_id__isnull=False),
                name="chatwidget_contact_unique_external_id",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_identified(self) -> bool:
        return self.user_id is not None or self.external_id is not None

    @property
    def display_name(self) -> str:
        return self.name or self.email or f"Visitor #{self.pk}"


class WidgetToken(models.Model):
    """A browser's credential for a contact; only the SHA-256 of the secret is stored."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"Token {self.pk} for contact {self.contact_id} ({state})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Conversation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    widget = models.ForeignKey(Widget, on_delete=models.CASCADE, related_name="conversations")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="chat_assignments",
    )
    custom_attributes = models.JSONField(default=dict, blank=True)
    # Read pointers: the highest message id each side has read; unread = newer messages
    # from the other side.
    contact_last_read_id = models.BigIntegerField(default=0)
    agent_last_read_id = models.BigIntegerField(default=0)
    # Contact messages newer than agent_last_read_id, kept by chat.py in the same UPDATE
    # that records each message, so the message path never counts a growing backlog.
    agent_unread_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        permissions = [("use_inbox", "Can answer visitors in the chat inbox")]
        indexes = [
            models.Index(fields=["widget", "status", "-updated_at"]),
            # The inbox list: keyset pages by (updated_at, id), per filter.
            models.Index(fields=["status", "-updated_at", "-id"],
                         name="chatwidget_conv_inbox"),
            models.Index(fields=["assignee", "status", "-updated_at", "-id"],
                         name="chatwidget_conv_inbox_assignee"),
            models.Index(fields=["-updated_at", "-id"], name="chatwidget_conv_activity"),
        ]

    def __str__(self) -> str:
        return f"Conversation {self.pk} with {self.contact}"


class Message(models.Model):
    """A chat message. Its auto-increment id is the server id clients resume from."""

    class Sender(models.TextChoices):
        CONTACT = "contact", _("Contact")
        AGENT = "agent", _("Agent")
        SYSTEM = "system", _("System")

    id = models.BigAutoField(primary_key=True)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    # Denormalised from the conversation so resume is one indexed range scan per contact.
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="messages")
    sender_kind = models.CharField(max_length=16, choices=Sender.choices)
    sender_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="chat_messages",
    )
    body = models.TextField(blank=True)
    client_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "client_id"],
                condition=Q(sender_kind="contact") & ~Q(client_id=""),
                name="chatwidget_message_contact_client_id",
            ),
            models.UniqueConstraint(
                fields=["sender_user", "client_id"],
                condition=Q(sender_kind="agent") & ~Q(client_id=""),
                name="chatwidget_message_agent_client_id",
            ),
        ]
        indexes = [models.Index(fields=["contact", "id"])]

    def __str__(self) -> str:
        return f"Message {self.pk} in conversation {self.conversation_id}"


def attachment_upload_to(instance: Attachment, filename: str) -> str:
    # The stored name is random: the user's file name is kept in `name`, never in a path.
    return f"chatwidget/attachments/{timezone.now():%Y/%m}/{secrets.token_hex(16)}"


class Attachment(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="attachments"
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_upload_to, max_length=255)
    name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Note(models.Model):
    """A private note agents leave on a conversation.

    Its own model, not a kind of Message: every visitor path reads Message, so a note is
    kept off them by construction rather than by a filter each path must remember.
    """

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
        related_name="chat_notes",
    )
    body = models.TextField()
    client_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "client_id"], condition=~Q(client_id=""),
                name="chatwidget_note_author_client_id",
            ),
        ]

    def __str__(self) -> str:
        return f"Note by {self.author} on conversation {self.conversation_id}"


class SavedReply(models.Model):
    """A reusable reply an agent inserts with ``/shortcut``; no owner means shared."""

    shortcut = models.SlugField(max_length=50)
    text = models.TextField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="chat_saved_replies",
        help_text=_("Leave empty to share the reply with every agent."),
    )

    class Meta:
        ordering = ["shortcut", "id"]
        verbose_name_plural = _("saved replies")

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class AgentPresence(models.Model):
    """One open agent socket: in the database, so every tab and ASGI worker agrees."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_presence"
    )
    channel_name = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-seen_at"]
        verbose_name_plural = _("agent presence")

    def __str__(self) -> str:
        return f"{self.user} seen {self.seen_at:%H:%M:%S}"
