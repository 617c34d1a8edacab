"""A conversation as the admin shows it: the thread as escaped text, and the inbox link.

Everything in a thread is typed by visitors or agents, so it is rendered with
``format_html`` (escaped), never marked safe.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.template.defaultfilters import date as date_format
from django.template.defaultfilters import filesizeformat
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from . import events
from .models import Attachment, Conversation, Message


def inbox_url(conversation: Conversation) -> str | None:
    """The inbox page's deep link, once the inbox view is installed (None before)."""
    try:
        return reverse("admin:chatwidget_inbox_conversation", args=[conversation.pk])
    except NoReverseMatch:
        return None


def message_sender(message: Message) -> str:
    if message.sender_kind == Message.Sender.AGENT and message.sender_user is not None:
        return message.sender_user.get_username()
    if message.sender_kind == Message.Sender.CONTACT:
        return str(message.contact)
    return str(message.get_sender_kind_display())


def _attachment_links(message: Message) -> SafeString:
    return format_html_join(
        " ", '<a href="{}" download>{}</a> <small>({})</small>',
        ((events.attachment_payload(a)["url"], a.name, filesizeformat(a.size))
         for a in message.attachments.all()),
    )


def render_thread(conversation: Conversation) -> SafeString:
    """Messages and notes in time order, as escaped text (they are visitor-supplied)."""
    messages_ = conversation.messages.select_related("contact", "sender_user").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("id"))
    )
    notes = conversation.notes.select_related("author")
    entries = [(m.created_at, m.pk, "message", m) for m in messages_]
    entries += [(n.created_at, n.pk, "note", n) for n in notes]
    entries.sort(key=lambda entry: entry[:2])
    if not entries:
        return format_html("<p>{}</p>", _("No messages yet."))
    rows = []
    for created_at, _pk, kind, item in entries:
        if kind == "note":
            author = item.author.get_username() if item.author else ""
            rows.append((
                "chatwidget-note", format_html("{} <em>({})</em>", author, _("private note")),
                date_format(created_at, "DATETIME_FORMAT"), item.body, SafeString(""),
            ))
        else:
            rows.append((
                f"chatwidget-{item.sender_kind}", message_sender(item),
                date_format(created_at, "DATETIME_FORMAT"), item.body, _attachment_links(item),
            ))
    return format_html(
        '<table class="chatwidget-thread"><thead><tr><th>{}</th><th>{}</th><th>{}</th>'
        "</tr></thead><tbody>{}</tbody></table>",
        _("sender"), _("time"), _("message"),
        format_html_join(
            "", '<tr class="{}"><td>{}</td><td>{}</td>'
            '<td style="white-space: pre-wrap">{}<div>{}</div></td></tr>', rows,
        ),
    )
