"""Who a browser is in the chat: tokens, resolve, identify + merge, HMAC, logout/revoke.

Everything that creates, switches or ends a chat identity goes through this module; the
middleware, the REST views and the consumers only call it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import conf, events
from .adapter import get_adapter
from .models import Contact, Conversation, Message, Widget, WidgetToken


class IdentityError(Exception):
    """A refused identity change; ``status`` and ``type`` become the API error."""

    status = 400
    type = "identity_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class VerificationFailed(IdentityError):
    status = 403
    type = "identity_verification_failed"


class SiteLoginOwnsIdentity(IdentityError):
    status = 409
    type = "site_login_owns_identity"


@dataclass
class IssuedToken:
    """A freshly issued token: ``raw`` goes to the browser once and is never stored."""

    token: WidgetToken
    raw: str


# ---------------------------------------------------------------- tokens


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(contact: Contact) -> IssuedToken:
    raw = secrets.token_urlsafe(32)
    token = WidgetToken.objects.create(contact=contact, key_hash=hash_token(raw))
    token.contact = contact
    return IssuedToken(token=token, raw=raw)


def resolve_token(raw: str | None) -> WidgetToken | None:
    """The active token for a raw secret, with its contact and widget, or None."""
    if not raw or len(raw) > 128:
        return None
    return (
        WidgetToken.objects.select_related("contact", "contact__widget")
        .filter(key_hash=hash_token(raw), revoked_at__isnull=True)
        .first()
    )


def revoke_token(token: WidgetToken, *, notify: bool = True) -> None:
    """End a browser's identity and tell every tab of that browser (``logout``)."""
    WidgetToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.revoked_at = timezone.now()
    if notify:
        events.publish([events.Event(events.token_group(token.pk), events.LOGOUT, {})])


# ---------------------------------------------------------------- widgets and contacts


def get_widget(app_id: str | None = None) -> Widget:
    """The widget for an ``app_id``; the default one is created on first use.

    Raises ``Widget.DoesNotExist`` for an unknown app_id.
    """
    default_id = conf.get("DEFAULT_APP_ID")
    app_id = app_id or default_id
    if app_id == default_id:
        widget, _ = Widget.objects.get_or_create(app_id=app_id, defaults={"name": "Support"})
        return widget
    return Widget.objects.get(app_id=app_id)


def create_anonymous(widget: Widget) -> IssuedToken:
    with transaction.atomic():
        contact = Contact.objects.create(widget=widget)
        return issue_token(contact)


def contact_for_user(widget: Widget, user: Any) -> Contact:
    """The one contact of a site user on a widget, created (and populated) on demand."""
    contact = Contact.objects.filter(widget=widget, user=user).first()
    if contact is not None:
        return contact
    contact = Contact(widget=widget, user=user)
    get_adapter().populate_contact(contact, user)
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:  # another request created it first
        contact = Contact.objects.get(widget=widget, user=user)
    return contact


def merge_contacts(source: Contact, target: Contact) -> None:
    """Fold an anonymous contact's history into an identified one.

    Only anonymous sources are merged: two identified identities are never combined, since
    that would show one person's history to another.
    """
    if source.pk == target.pk or source.is_identified:
        return
    if conf.get("MERGE_ON_IDENTIFY"):
        Conversation.objects.filter(contact=source).update(contact=target)
        Message.objects.filter(contact=source).update(contact=target)
        fresh = {k: v for k, v in source.attributes.items() if k not in target.attributes}
        if fresh:
            target.attributes = {**target.attributes, **fresh}
        if source.email and not target.email:
            target.email = source.email
        target.save(update_fields=["attributes", "email"])
    source.merged_into = target
    source.save(update_fields=["merged_into"])


def _switch(token: WidgetToken | None, target: Contact) -> IssuedToken:
    """Move a browser to ``target``: merge anonymous history, rotate the token, say ``login``.

    The old token is revoked and a new one issued, so a token captured before login never
    grants the identified history (no fixation).
    """
    if token is not None:
        merge_contacts(token.contact, target)
        revoke_token(token, notify=False)
    issued = issue_token(target)
    if token is not None:
        # The browser's other tabs still hold the old token's sockets: they switch too.
        events.publish(
            [events.Event(events.token_group(token.pk), events.LOGIN, events.login_payload(target))]
        )
    return issued


def login_user(token: WidgetToken | None, user: Any, widget: Widget | None = None) -> IssuedToken:
    """A site login: the browser becomes the user's contact, with its anonymous history."""
    widget = widget or (token.contact.widget if token is not None else get_widget())
    with transaction.atomic():
        return _switch(token, contact_for_user(widget, user))


def verify_user_hash(widget: Widget, external_id: str, user_hash: str | None) -> bool:
    if not user_hash or not isinstance(user_hash, str):
        return False
    expected = hmac.new(
        widget.identity_secret.encode(), external_id.encode(), hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, user_hash.lower())


def identify_external(
    token: WidgetToken | None,
    widget: Widget,
    external_id: str,
    *,
    user_hash: str | None,
    site_user: Any = None,
    attributes: dict[str, Any] | None = None,
    email: str | None = None,
    name: str | None = None,
) -> IssuedToken | None:
    """``chatwidget.identify()``: switch to a verified external identity.

    Returns None when the browser already is that contact (only the attributes change).
    """
    if site_user is not None and site_user.is_authenticated:
        raise SiteLoginOwnsIdentity(
            "This browser is logged in to the site; the site login decides the chat identity."
        )
    if conf.get("IDENTITY_VERIFICATION") and not verify_user_hash(widget, external_id, user_hash):
        raise VerificationFailed(
            "userHash does not match HMAC-SHA256(identity_secret, externalId).", field="userHash"
        )
    with transaction.atomic():
        contact, _ = Contact.objects.get_or_create(widget=widget, external_id=external_id)
        update_contact(contact, attributes=attributes, email=email, name=name)
        if token is not None and token.contact_id == contact.pk:
            return None
        if token is not None and token.contact.user_id is not None:
            raise SiteLoginOwnsIdentity("This browser's chat identity belongs to a site login.")
        return _switch(token, contact)


def update_contact(
    contact: Contact,
    *,
    attributes: dict[str, Any] | None = None,
    email: str | None = None,
    name: str | None = None,
) -> None:
    fields = []
    if attributes:
        contact.attributes = {**contact.attributes, **attributes}
        fields.append("attributes")
    if email:
        contact.email = email
        fields.append("email")
    if name:
        contact.name = name
        fields.append("name")
    if fields:
        contact.save(update_fields=fields)
        events.publish(
            [
                events.Event(
                    events.agents_group(contact.widget_id),
                    events.CONTACT_UPDATED,
                    {"contact": events.contact_payload(contact)},
                )
            ]
        )


def logout(token: WidgetToken | None) -> None:
    """End the browser's chat identity; every tab hears ``logout`` and pings anew."""
    if token is not None:
        revoke_token(token)


def token_matches_user(token: WidgetToken, user: Any) -> bool:
    """DESIGN §2's invariant for one token and the site session it arrives with.

    Authenticated: the token must be the user's contact. Not authenticated: the token must
    not be bound to any user (an anonymous or external-id contact).
    """
    if user is not None and user.is_authenticated:
        return token.contact.user_id == user.pk
    return token.contact.user_id is None


def touch(contact: Contact, **seen: str) -> None:
    """Last seen now; ``seen`` may add what the widget reported (page_url, page_title,
    user_agent) for the agents' contact panel, cut to fit their columns."""
    fields = {name: value[: Contact._meta.get_field(name).max_length]
              for name, value in seen.items()}
    Contact.objects.filter(pk=contact.pk).update(last_seen_at=timezone.now(), **fields)

