"""Admin registration of every chatwidget model.

The admin is for looking things up and for the few operations that have no other UI yet
(revoke a browser's token, rotate a widget's HMAC secret). Changes that visitors must see
live (closing, reassigning a conversation) go through ``chat.update_conversation`` so the
widget hears about them exactly as it would from the inbox. Messages and attachments are
a record of what was said: they are shown, never edited here.

The realtime inbox (DESIGN §6) is linked from every conversation's page; the admin shows
the thread (messages and private notes) as text, never as HTML.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.template.defaultfilters import filesizeformat, truncatechars
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import admin_inbox, chat, conf, datarights, events, identity
from .api.datarights import zip_response
from .models import (
    AgentPresence,
    Attachment,
    Contact,
    Conversation,
    Message,
    Note,
    SavedReply,
    Widget,
    WidgetToken,
)
from .transcript import inbox_url, message_sender, render_thread


class ReadOnlyInline(admin.TabularInline):
    """An inline that lists related rows with links, but never adds, edits or deletes."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# ---------------------------------------------------------------- widgets


@admin.register(Widget)
class WidgetAdmin(admin.ModelAdmin):
    list_display = ["name", "app_id", "contact_count", "ask_email", "created_at"]
    search_fields = ["name", "app_id"]
    list_filter = ["ask_email"]
    # Read-only, not hidden: the site owner copies it to their server to sign identify().
    readonly_fields = ["identity_secret", "identity_secret_hidden", "created_at"]
    fieldsets = [
        (None, {"fields": ["name", "app_id"]}),
        (_("Appearance"), {"fields": ["greeting", "color", "ask_email", "reply_time"]}),
        (
            _("Security"),
            {
                "fields": ["allowed_origins", "identity_secret", "created_at"],
                "description": _(
                    "identify() for non-Django identities must send user_hash = hex "
                    "HMAC-SHA256(identity secret, external id), computed on your server. "
                    "Never put the secret in a page."
                ),
            },
        ),
    ]
    actions = ["rotate_identity_secret"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Widget]:
        return super().get_queryset(request).annotate(_contacts=Count("contacts"))

    def get_fieldsets(self, request: HttpRequest, obj: Widget | None = None) -> list:
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request, obj):
            return fieldsets
        # The secret lets its holder identify() as anyone, so view-only staff (agents) do
        # not see it; whoever may change the widget, and so rotate the secret, does.
        return [
            (name, {**options, "fields": [_hide_secret(f) for f in options["fields"]]})
            for name, options in fieldsets
        ]

    @admin.display(description=_("identity secret"))
    def identity_secret_hidden(self, obj: Widget) -> str:
        return str(_("hidden: shown only to users who may change widgets"))

    @admin.display(description=_("contacts"), ordering="_contacts")
    def contact_count(self, obj: Widget) -> int:
        return obj._contacts

    @admin.action(
        description=_("Rotate the identity secret (existing user_hash values stop working)"),
        permissions=["change"],
    )
    def rotate_identity_secret(self, request: HttpRequest, queryset: QuerySet[Widget]) -> None:
        new_secret = Widget._meta.get_field("identity_secret").get_default
        for widget in queryset:
            widget.identity_secret = new_secret()
            widget.save(update_fields=["identity_secret"])
        self.message_user(
            request,
            ngettext(
                "Rotated the identity secret of %(count)d widget. Update your server's copy: "
                "identify() calls signed with the old one are now refused.",
                "Rotated the identity secrets of %(count)d widgets. Update your server's copy: "
                "identify() calls signed with the old ones are now refused.",
                len(queryset),
            )
            % {"count": len(queryset)},
            messages.WARNING,
        )


def _hide_secret(field: str) -> str:
    return "identity_secret_hidden" if field == "identity_secret" else field


# ---------------------------------------------------------------- contacts and tokens


class IdentityFilter(admin.SimpleListFilter):
    title = _("identity")
    parameter_name = "identity"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("anonymous", _("Anonymous")),
            ("user", _("Site user")),
            ("external", _("External id")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Contact]) -> QuerySet[Contact]:
        value = self.value()
        if value == "anonymous":
            return queryset.filter(user__isnull=True, external_id__isnull=True)
        if value == "user":
            return queryset.filter(user__isnull=False)
        if value == "external":
            return queryset.filter(external_id__isnull=False)
        return queryset


class ContactConversationInline(ReadOnlyInline):
    model = Conversation
    fk_name = "contact"
    fields = ["status", "assignee", "last_message_at", "created_at"]
    readonly_fields = fields
    ordering = ["-id"]


class ContactTokenInline(ReadOnlyInline):
    model = WidgetToken
    verbose_name_plural = _("widget tokens (one per browser)")
    fields = ["key_prefix", "created_at", "revoked_at"]
    readonly_fields = fields

    @admin.display(description=_("key"))
    def key_prefix(self, obj: WidgetToken) -> str:
        return _key_prefix(obj)


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = [
        "display_name",
        "widget",
        "identity_kind",
        "user",
        "external_id",
        "email",
        "last_seen_at",
        "created_at",
    ]
    list_filter = [IdentityFilter, "widget", "created_at"]
    search_fields = ["name", "email", "external_id", "user__username", "user__email"]
    list_select_related = ["widget", "user"]
    raw_id_fields = ["user", "merged_into"]
    readonly_fields = ["merged_into", "created_at", "last_seen_at", "page_url", "page_title",
                       "user_agent"]
    inlines = [ContactConversationInline, ContactTokenInline]
    date_hierarchy = "created_at"

    @admin.display(description=_("identity"))
    def identity_kind(self, obj: Contact) -> str:
        if obj.user_id is not None:
            return str(_("site user"))
        if obj.external_id is not None:
            return str(_("external id"))
        return str(_("anonymous"))

    # ------------------------------------------------------------ data rights

    actions = ["export_chat_data", "erase_chat_data"]

    def has_export_contact_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("chatwidget.export_contact")

    def has_erase_contact_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("chatwidget.erase_contact")

    @admin.action(description=_("Export chat data (zip with JSON and files)"),
                  permissions=["export_contact"])
    def export_chat_data(self, request: HttpRequest,
                         queryset: QuerySet[Contact]) -> HttpResponseBase:
        return zip_response(list(queryset.order_by("id")), actor=request.user, for_agent=True,
                            filename="chatwidget-contacts.zip")

    @admin.action(description=_("Erase chat data…"), permissions=["erase_contact"])
    def erase_chat_data(self, request: HttpRequest,
                        queryset: QuerySet[Contact]) -> HttpResponseBase | None:
        contacts = list(queryset.order_by("id"))
        if request.POST.get("confirm") != "yes":
            # Irreversible: show what would go and ask once more, like the delete action.
            context = {
                **self.admin_site.each_context(request),
                "title": _("Erase chat data"),
                "opts": self.model._meta,
                "plans": [(contact, datarights.plan_erase(contact)) for contact in contacts],
                "mode": conf.get("ERASE_MODE"),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "chatwidget/admin/erase_confirmation.html",
                                    context)
        for contact in contacts:
            datarights.erase_contact(contact, actor=request.user)
        self.message_user(
            request,
            ngettext("Erased the chat data of %d contact.",
                     "Erased the chat data of %d contacts.", len(contacts)) % len(contacts),
            messages.SUCCESS,
        )
        return None


def _key_prefix(token: WidgetToken) -> str:
    # The hash of a 256-bit secret cannot be reversed, but showing all of it would invite
    # copying it around; a prefix is enough to tell tokens apart.
    return f"{token.key_hash[:8]}…"


class TokenStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", _("Active")), ("revoked", _("Revoked"))]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[WidgetToken]
    ) -> QuerySet[WidgetToken]:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(WidgetToken)
class WidgetTokenAdmin(admin.ModelAdmin):
    """Tokens are issued by chatwidget.identity only; here they can be looked at and revoked."""

    list_display = ["id", "contact", "key_prefix", "is_active", "created_at", "revoked_at"]
    list_filter = [TokenStateFilter, "created_at"]
    search_fields = [
        "contact__name",
        "contact__email",
        "contact__external_id",
        "contact__user__username",
    ]
    list_select_related = ["contact"]
    raw_id_fields = ["contact"]
    fields = ["contact", "key_prefix", "created_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A token typed into a form would have no secret anyone holds.
        return False

    @admin.display(description=_("key"))
    def key_prefix(self, obj: WidgetToken) -> str:
        return _key_prefix(obj)

    @admin.display(description=_("active"), boolean=True, ordering="revoked_at")
    def is_active(self, obj: WidgetToken) -> bool:
        return obj.is_active

    @admin.action(description=_("Revoke (log the browser out of the chat)"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[WidgetToken]) -> None:
        tokens = list(queryset.filter(revoked_at__isnull=True).select_related("contact"))
        for token in tokens:
            # Through identity, so every open tab of that browser hears `logout`.
            identity.revoke_token(token)
        self.message_user(
            request,
            ngettext("Revoked %(count)d token.", "Revoked %(count)d tokens.", len(tokens))
            % {"count": len(tokens)},
            messages.SUCCESS,
        )


# ---------------------------------------------------------------- conversations


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "contact",
        "widget",
        "status",
        "assignee",
        "message_count",
        "last_message_at",
        "updated_at",
    ]
    list_filter = ["status", "widget", ("assignee", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["contact__name", "contact__email", "contact__external_id"]
    list_select_related = ["contact", "widget", "assignee"]
    raw_id_fields = ["assignee"]
    readonly_fields = [
        "open_in_inbox",
        "widget",
        "contact",
        "thread",
        "contact_last_read_id",
        "agent_last_read_id",
        "agent_unread_count",
        "created_at",
        "updated_at",
        "last_message_at",
    ]
    fields = [
        "open_in_inbox",
        "widget",
        "contact",
        "status",
        "assignee",
        "custom_attributes",
        "thread",
        "contact_last_read_id",
        "agent_last_read_id",
        "agent_unread_count",
        "created_at",
        "updated_at",
        "last_message_at",
    ]
    actions = ["close", "reopen"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Conversations start from a visitor's widget; one made here would have no thread.
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conversation]:
        return super().get_queryset(request).annotate(_messages=Count("messages"))

    @admin.display(description=_("messages"), ordering="_messages")
    def message_count(self, obj: Conversation) -> int:
        return obj._messages

    @admin.display(description=_("thread"))
    def thread(self, obj: Conversation) -> SafeString:
        return render_thread(obj)

    @admin.display(description=_("inbox"))
    def open_in_inbox(self, obj: Conversation) -> SafeString | str:
        url = inbox_url(obj)
        if url is None:
            return "-"
        return format_html('<a class="button" href="{}">{}</a>', url, _("Open in inbox"))

    def save_model(self, request: HttpRequest, obj: Conversation, form: Any, change: bool) -> None:
        changes = {name: getattr(obj, name) for name in form.changed_data}
        if not change or not changes:
            super().save_model(request, obj, form, change)
            return
        # Through chat, so the visitor's widget and the agents see the change live.
        events.publish(chat.update_conversation(obj, **changes))

    def _set_status(self, queryset: QuerySet[Conversation], status: str) -> int:
        changed = 0
        for conversation in queryset.exclude(status=status):
            events.publish(chat.update_conversation(conversation, status=status))
            changed += 1
        return changed

    @admin.action(description=_("Close selected conversations"), permissions=["change"])
    def close(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> None:
        count = self._set_status(queryset, Conversation.Status.CLOSED)
        self.message_user(
            request,
            ngettext("Closed %(count)d conversation.", "Closed %(count)d conversations.", count)
            % {"count": count},
        )

    @admin.action(description=_("Reopen selected conversations"), permissions=["change"])
    def reopen(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> None:
        count = self._set_status(queryset, Conversation.Status.OPEN)
        self.message_user(
            request,
            ngettext("Reopened %(count)d conversation.", "Reopened %(count)d conversations.", count)
            % {"count": count},
        )


# ---------------------------------------------------------------- messages and attachments


class RecordAdmin(admin.ModelAdmin):
    """What was said is a record: viewable (and deletable), never rewritten in the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(RecordAdmin):
    list_display = ["id", "conversation", "sender_kind", "sender", "excerpt", "created_at"]
    list_filter = ["sender_kind", "created_at"]
    search_fields = ["body", "client_id", "contact__email", "contact__name"]
    list_select_related = ["conversation__contact", "contact", "sender_user"]
    raw_id_fields = ["conversation", "contact", "sender_user"]
    date_hierarchy = "created_at"

    @admin.display(description=_("sender"))
    def sender(self, obj: Message) -> str:
        return message_sender(obj)

    @admin.display(description=_("body"))
    def excerpt(self, obj: Message) -> str:
        return truncatechars(obj.body, 80)


@admin.register(Attachment)
class AttachmentAdmin(RecordAdmin):
    list_display = ["name", "conversation", "message", "content_type", "file_size", "created_at"]
    list_filter = ["content_type", "created_at"]
    search_fields = ["name"]
    list_select_related = ["conversation__contact", "message"]
    raw_id_fields = ["conversation", "message"]
    date_hierarchy = "created_at"

    @admin.display(description=_("size"), ordering="size")
    def file_size(self, obj: Attachment) -> str:
        return filesizeformat(obj.size)


@admin.register(Note)
class NoteAdmin(RecordAdmin):
    """Private notes: agents only, like the inbox shows them."""

    list_display = ["id", "conversation", "author", "excerpt", "created_at"]
    search_fields = ["body"]
    list_select_related = ["conversation__contact", "author"]
    raw_id_fields = ["conversation", "author"]
    date_hierarchy = "created_at"

    @admin.display(description=_("body"))
    def excerpt(self, obj: Note) -> str:
        return truncatechars(obj.body, 80)


@admin.register(SavedReply)
class SavedReplyAdmin(admin.ModelAdmin):
    """Shared replies and each agent's own; another agent's private ones stay private."""

    list_display = ["shortcut", "excerpt", "owner"]
    search_fields = ["shortcut", "text"]
    list_select_related = ["owner"]
    list_filter = [("owner", admin.RelatedOnlyFieldListFilter)]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SavedReply]:
        replies = super().get_queryset(request)
        if request.user.is_superuser:
            return replies
        return replies.filter(Q(owner__isnull=True) | Q(owner=request.user))

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest,
                                 **kwargs: Any) -> Any:
        if db_field.name == "owner" and not request.user.is_superuser:
            # An agent keeps replies for everyone or for themselves, not for a colleague.
            kwargs["queryset"] = db_field.related_model.objects.filter(pk=request.user.pk)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("text"))
    def excerpt(self, obj: SavedReply) -> str:
        return truncatechars(obj.text, 80)


@admin.register(AgentPresence)
class AgentPresenceAdmin(RecordAdmin):
    """Open agent sockets (kept by the sockets themselves; stale rows are swept)."""

    list_display = ["user", "channel_name", "seen_at"]
    list_select_related = ["user"]


admin_inbox.install(admin.site)
