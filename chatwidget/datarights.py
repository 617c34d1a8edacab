"""A site owner's data duties for the chat: export, erase, retention purge, token expiry.

The admin actions, the agent API, the site user's own export view and the management
commands all call this module, so an export or an erasure is the same whichever door it
came through, and each one leaves an admin ``LogEntry`` (who, when, which contact).

A *subject* is a contact plus every anonymous contact that was merged into it: the same
person's data, so it is exported and erased together (docs/data-rights.md).

Files are removed from storage only after the transaction that deleted their rows
commits: a rolled-back erase keeps its files, a committed one never leaves them behind.
"""

from __future__ import annotations

import json
import logging
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from . import conf, events
from .models import Attachment, Contact, Conversation, Message, Note, WidgetToken

logger = logging.getLogger("chatwidget.datarights")

EXPORT_FORMAT = "chatwidget.contact-export/1"
ERASE_MODES = ("delete", "anonymise")
# A used token's last_used_at is written at most this often: a ping must not cost a write.
TOKEN_TOUCH_INTERVAL = timedelta(hours=1)
# Who the audit log names when a command runs without --actor (created inactive, with no
# usable password, on first use).
SYSTEM_USERNAME = "chatwidget-system"
PURGE_BATCH = 200


# ---------------------------------------------------------------- token lifecycle


def _expiry(now: datetime) -> tuple[datetime | None, datetime | None]:
    """The two cutoffs of a token's life, stated once: created after the first (absolute
    maximum age) and, for an anonymous contact, used after the second (idle expiry);
    ``None`` where the setting is off."""
    max_age = conf.get("TOKEN_MAX_AGE_DAYS")
    idle = conf.get("ANONYMOUS_TOKEN_IDLE_DAYS")
    return (now - timedelta(days=max_age) if max_age else None,
            now - timedelta(days=idle) if idle else None)


def live_tokens(now: datetime | None = None) -> Q:
    """Tokens that still open a chat identity: not revoked, not expired.

    The purge deletes everything else; :func:`is_live` applies the same cutoffs to one
    loaded token (``identity.resolve_token``), so REST, ping and both sockets refuse
    exactly the tokens the purge removes.
    """
    created_after, used_after = _expiry(now or timezone.now())
    live = Q(revoked_at__isnull=True)
    if created_after:
        live &= Q(created_at__gt=created_after)
    if used_after:
        live &= (
            Q(contact__user__isnull=False)
            | Q(contact__external_id__isnull=False)
            | Q(last_used_at__gt=used_after)
        )
    return live


def is_live(token: WidgetToken, now: datetime | None = None) -> bool:
    """:func:`live_tokens` for one token already loaded with its contact.

    Resolving a token runs on every page view, and compiling the Q's OR across the contact
    costs about half of that lookup; a test holds the two to the same answer for every
    kind of token.
    """
    created_after, used_after = _expiry(now or timezone.now())
    if token.revoked_at is not None:
        return False
    if created_after and not token.created_at > created_after:
        return False
    contact = token.contact
    return bool(not used_after or contact.user_id is not None
                or contact.external_id is not None or token.last_used_at > used_after)


def touch_tokens(tokens: list[WidgetToken], now: datetime | None = None) -> None:
    """Mark tokens used; the ones due for it in one write (sockets opening together)."""
    now = now or timezone.now()
    due = [token for token in tokens if token.last_used_at <= now - TOKEN_TOUCH_INTERVAL]
    if due:
        WidgetToken.objects.filter(pk__in=[token.pk for token in due]).update(last_used_at=now)
        for token in due:
            token.last_used_at = now


def cookie_max_age() -> int:
    """The widget cookie never outlives the token it carries."""
    age = conf.get("COOKIE_AGE")
    max_days = conf.get("TOKEN_MAX_AGE_DAYS")
    return min(age, max_days * 86400) if max_days else age


# ---------------------------------------------------------------- subjects and audit


def subject_contacts(contact: Contact) -> list[Contact]:
    """The contact and every contact merged into it, transitively (one person's data)."""
    found = {contact.pk: contact}
    frontier = [contact.pk]
    while frontier:
        merged = list(Contact.objects.select_related("widget", "user")
                      .filter(merged_into__in=frontier).exclude(pk__in=found))
        found.update((c.pk, c) for c in merged)
        frontier = [c.pk for c in merged]
    return list(found.values())


def system_actor(username: str | None = None) -> Any:
    """The user an audit entry names: ``username``, or the documented system user."""
    User = get_user_model()
    if username is not None:
        return User._default_manager.get_by_natural_key(username)
    actor, created = User._default_manager.get_or_create(
        **{User.USERNAME_FIELD: SYSTEM_USERNAME}, defaults={"is_active": False}
    )
    if created:
        actor.set_unusable_password()
        actor.save()
    return actor


def audit(actor: Any, contact_id: int, message: str, *, flag: int = CHANGE) -> None:
    """An admin LogEntry, shown in the contact's admin history.

    The object is named by id only: the log outlives an erasure and must not keep the
    name or email it erased.
    """
    LogEntry.objects.create(
        user_id=actor.pk,
        content_type=ContentType.objects.get_for_model(Contact),
        object_id=str(contact_id),
        object_repr=f"Contact #{contact_id}",
        action_flag=flag,
        change_message=message,
    )


# ---------------------------------------------------------------- export


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def attachment_path(attachment: Attachment) -> str:
    """Where an attachment's file sits in an export zip, next to export.json."""
    return f"attachments/{attachment.pk}-{attachment.name}"


def _contact_data(contact: Contact) -> dict[str, Any]:
    if contact.user_id is not None:
        identity = {"kind": "user", "userId": contact.user_id,
                    "username": contact.user.get_username()}
    elif contact.external_id is not None:
        identity = {"kind": "external_id", "externalId": contact.external_id}
    else:
        identity = {"kind": "anonymous"}
    return {
        "id": contact.pk,
        "widget": contact.widget.app_id,
        "identity": identity,
        "email": contact.email or None,
        "name": contact.name or None,
        "attributes": contact.attributes,
        "mergedInto": contact.merged_into_id,
        "createdAt": _iso(contact.created_at),
        "lastSeenAt": _iso(contact.last_seen_at),
    }


def _attachment_data(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "messageId": attachment.message_id,
        "name": attachment.name,
        "size": attachment.size,
        "contentType": attachment.content_type,
        "createdAt": _iso(attachment.created_at),
        "file": attachment_path(attachment),
    }


def _conversation_data(conversation: Conversation) -> dict[str, Any]:
    messages = list(conversation.messages.all())
    attachments = list(conversation.attachments.all())
    by_message: dict[int, list[int]] = {}
    for attachment in attachments:
        if attachment.message_id is not None:
            by_message.setdefault(attachment.message_id, []).append(attachment.pk)
    return {
        "id": conversation.pk,
        "contactId": conversation.contact_id,
        "status": conversation.status,
        "customAttributes": conversation.custom_attributes,
        "createdAt": _iso(conversation.created_at),
        "updatedAt": _iso(conversation.updated_at),
        "messages": [
            {
                "id": message.pk,
                "sender": {"kind": message.sender_kind,
                           "name": events.message_sender_name(message)},
                "body": message.body,
                "createdAt": _iso(message.created_at),
                "attachmentIds": by_message.get(message.pk, []),
            }
            for message in messages
        ],
        "attachments": [_attachment_data(a) for a in attachments],
    }


def _subject_conversations(contacts: Iterable[Contact]) -> QuerySet[Conversation]:
    return (
        Conversation.objects.filter(contact__in=[c.pk for c in contacts])
        .order_by("id")
        .prefetch_related("attachments", "messages__sender_user", "messages__contact")
    )


def agent_only_sections(conversations: list[Conversation]) -> dict[str, Any]:
    """Export sections only an agent's export carries: the private notes on ``conversations``.

    A visitor's own export never calls this, so notes stay agents-only there too.
    """
    notes = (Note.objects.filter(conversation__in=conversations)
             .select_related("author").order_by("id"))
    return {"notes": [events.note_payload(note) for note in notes]}


def export_contact(contact: Contact, *, actor: Any, for_agent: bool,
                   now: datetime | None = None) -> dict[str, Any]:
    """One JSON-ready document holding everything stored about a contact, and nothing else.

    ``for_agent`` adds agent-only data (private notes); a site user's own export has none.
    """
    contacts = subject_contacts(contact)
    conversations = list(_subject_conversations(contacts))
    tokens = WidgetToken.objects.filter(contact__in=[c.pk for c in contacts]).order_by("id")
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exportedAt": _iso(now or timezone.now()),
        "contact": _contact_data(contacts[0]),
        "mergedContacts": [_contact_data(c) for c in contacts[1:]],
        "conversations": [_conversation_data(c) for c in conversations],
        "tokens": [
            {"createdAt": _iso(t.created_at), "lastUsedAt": _iso(t.last_used_at),
             "revokedAt": _iso(t.revoked_at)}
            for t in tokens
        ],
    }
    if for_agent:
        document.update(agent_only_sections(conversations))
    audit(actor, contact.pk, "Exported the contact's chat data.")
    return document


def dumps(document: Any) -> bytes:
    return json.dumps(document, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False).encode()


def write_zip(out: IO[bytes], contacts: Iterable[Contact], *, actor: Any,
              for_agent: bool) -> None:
    """A zip with ``contact-<id>/export.json`` and each attachment's file beside it."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for contact in contacts:
            document = export_contact(contact, actor=actor, for_agent=for_agent)
            folder = f"contact-{contact.pk}/"
            archive.writestr(folder + "export.json", dumps(document))
            ids = [a["id"] for c in document["conversations"] for a in c["attachments"]]
            for attachment in Attachment.objects.filter(pk__in=ids):
                try:
                    with attachment.file.open("rb") as source:
                        archive.writestr(folder + attachment_path(attachment), source.read())
                except OSError:  # listed in export.json; the file itself is gone
                    logger.warning("chatwidget: attachment %s has no file", attachment.pk)


# ---------------------------------------------------------------- erase


@dataclass
class Erasure:
    """What an erase removes (or, for a dry run, would remove)."""

    contact_ids: list[int] = field(default_factory=list)
    conversations: int = 0
    messages: int = 0
    attachments: int = 0
    tokens: int = 0
    files: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"contacts {self.contact_ids or '[]'}: {self.conversations} conversations, "
                f"{self.messages} messages, {self.attachments} attachments "
                f"({len(self.files)} files), {self.tokens} tokens")


def plan_erase(contact: Contact) -> Erasure:
    ids = [c.pk for c in subject_contacts(contact)]
    attachments = Attachment.objects.filter(conversation__contact__in=ids)
    return Erasure(
        contact_ids=ids,
        conversations=Conversation.objects.filter(contact__in=ids).count(),
        messages=Message.objects.filter(contact__in=ids).count(),
        attachments=attachments.count(),
        tokens=WidgetToken.objects.filter(contact__in=ids).count(),
        files=[name for name in attachments.values_list("file", flat=True) if name],
    )


def erase_contact(contact: Contact, *, actor: Any, mode: str | None = None) -> Erasure:
    """Remove a contact's chat data and close its sockets; erasing twice is harmless.

    ``mode`` (default ``CHATWIDGET["ERASE_MODE"]``): ``"delete"`` removes the contact rows
    too; ``"anonymise"`` keeps them and their conversations' bare rows (status, dates,
    assignee) for statistics, stripped of identity, attributes and content.
    """
    mode = mode or conf.get("ERASE_MODE")
    if mode not in ERASE_MODES:
        raise ValueError(f"ERASE_MODE must be one of {ERASE_MODES}, not {mode!r}.")
    with transaction.atomic():
        plan = plan_erase(contact)
        ids = plan.contact_ids
        # Read before the rows go: the inboxes showing these conversations are told.
        shown = erased_from_inboxes(ids)
        Attachment.objects.filter(conversation__contact__in=ids).delete()
        Message.objects.filter(contact__in=ids).delete()
        WidgetToken.objects.filter(contact__in=ids).delete()
        if mode == "delete":
            Contact.objects.filter(pk__in=ids).delete()
        else:
            # Anonymise keeps the conversation rows, so the private notes on them (which
            # may name the person) go explicitly; "delete" cascades them.
            Note.objects.filter(conversation__contact__in=ids).delete()
            Conversation.objects.filter(contact__in=ids).update(
                custom_attributes={}, agent_unread_count=0
            )
            Contact.objects.filter(pk__in=ids).update(
                user=None, external_id=None, email="", name="", attributes={},
                merged_into=None,
            )
        # Every tab of every device hears ``logout``, closes, and pings as a new visitor.
        events.publish(events.Event(events.contact_group(pk), events.LOGOUT, {}) for pk in ids)
        events.publish(events.Event(events.agents_group(widget_id), events.CONTACT_ERASED, {
            "contactIds": ids, "conversationIds": conversation_ids, "mode": mode,
        }) for widget_id, conversation_ids in shown.items())
        delete_files_on_commit(plan.files)
        audit(actor, contact.pk, f"Erased the contact's chat data ({mode}): {plan}.",
              flag=DELETION if mode == "delete" else CHANGE)
    return plan


def erased_from_inboxes(contact_ids: list[int]) -> dict[int, list[int]]:
    """Widget id → the conversation ids of these contacts, for the agents of each widget."""
    shown: dict[int, list[int]] = {
        widget_id: [] for widget_id in
        Contact.objects.filter(pk__in=contact_ids).values_list("widget_id", flat=True)
    }
    for pk, widget_id in Conversation.objects.filter(contact__in=contact_ids).values_list(
            "pk", "widget_id"):
        shown.setdefault(widget_id, []).append(pk)
    return shown


def delete_files_on_commit(names: list[str]) -> None:
    if not names:
        return
    storage = Attachment._meta.get_field("file").storage

    def delete() -> None:
        for name in names:
            try:
                storage.delete(name)
            except Exception:  # a file left over must not fail the erase that committed
                logger.warning("chatwidget: could not delete %s", name, exc_info=True)

    transaction.on_commit(delete)


def erase_user_contacts(sender: Any, instance: Any, **kwargs: Any) -> None:
    """``pre_delete`` of the user model: a deleted site user's chat goes with them.

    The audit names the system user: an entry naming the deleted user would go with it.
    """
    contacts = list(Contact.objects.filter(user=instance))
    if contacts:
        actor = system_actor()
        for contact in contacts:
            erase_contact(contact, actor=actor)


# ---------------------------------------------------------------- retention


@dataclass
class Purge:
    conversations: int = 0
    contacts: int = 0
    attachments: int = 0
    tokens: int = 0

    def __str__(self) -> str:
        return (f"{self.conversations} closed conversations, {self.contacts} idle anonymous "
                f"contacts, {self.attachments} attachments, {self.tokens} tokens")


def _expired_conversations(cutoff: datetime) -> QuerySet[Conversation]:
    return Conversation.objects.filter(status=Conversation.Status.CLOSED, updated_at__lt=cutoff)


def _idle_anonymous_contacts(cutoff: datetime) -> QuerySet[Contact]:
    return Contact.objects.filter(user__isnull=True, external_id__isnull=True,
                                  last_seen_at__lt=cutoff)


def _dead_tokens(now: datetime) -> QuerySet[WidgetToken]:
    return WidgetToken.objects.exclude(live_tokens(now))


def purge(*, now: datetime | None = None, dry_run: bool = False) -> Purge:
    """Delete what ``RETENTION_DAYS`` no longer allows keeping, and dead token rows.

    Safe to run from cron on several hosts at once: each batch is claimed with
    ``SELECT … FOR UPDATE SKIP LOCKED`` where the database has it, so two purges never
    work on the same rows, and deleting rows that are already gone is not an error.
    """
    now = now or timezone.now()
    days = conf.get("RETENTION_DAYS")
    cutoff = now - timedelta(days=days) if days else None
    if dry_run:
        return _count(cutoff, now)
    result = Purge()
    if cutoff is not None:
        conversations = _expired_conversations(cutoff)
        while (batch := _purge_batch(conversations, "conversation__in")) is not None:
            result.conversations += batch[0]
            result.attachments += batch[1]
        contacts = _idle_anonymous_contacts(cutoff)
        while (batch := _purge_batch(contacts, "conversation__contact__in")) is not None:
            result.contacts += batch[0]
            result.attachments += batch[1]
    while (batch := _purge_batch(_dead_tokens(now), None)) is not None:
        result.tokens += batch[0]
    return result


def _count(cutoff: datetime | None, now: datetime) -> Purge:
    result = Purge(tokens=_dead_tokens(now).count())
    if cutoff is not None:
        conversations = _expired_conversations(cutoff)
        contacts = _idle_anonymous_contacts(cutoff)
        result.conversations = conversations.count()
        result.contacts = contacts.count()
        result.attachments = Attachment.objects.filter(
            Q(conversation__in=conversations) | Q(conversation__contact__in=contacts)
        ).count()
    return result


def _claim(queryset: QuerySet[Any]) -> list[int]:
    queryset = queryset.order_by("pk")
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True)
    return list(queryset.values_list("pk", flat=True)[:PURGE_BATCH])


def _purge_batch(queryset: QuerySet[Any],
                 attachments_of: str | None) -> tuple[int, int] | None:
    """Delete one claimed batch; ``(rows, attachments)``, or None when nothing is left.

    ``attachments_of`` is the Attachment lookup that takes the batch's primary keys (None
    for rows without files).
    """
    model = queryset.model
    with transaction.atomic():
        pks = _claim(queryset)
        if not pks:
            return None
        files: list[str] = []
        attachments = 0
        if attachments_of is not None:
            rows = Attachment.objects.filter(**{attachments_of: pks})
            files = [name for name in rows.values_list("file", flat=True) if name]
            attachments = rows.count()
        model.objects.filter(pk__in=pks).delete()
        delete_files_on_commit(files)
    return len(pks), attachments
