"""Who a browser is in the chat: tokens, resolve, identify + merge, HMAC, logout/revoke.

Everything that creates, switches or ends a chat identity goes through this module; the
middleware, the REST views and the consumers only call it.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, IntegrityError, models, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Left
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from . import conf, datarights, events
from .adapter import get_adapter
from .models import Contact, Conversation, Message, Widget, WidgetToken
from .prepared import Prepared, PreparedBatches

logger = logging.getLogger("chatwidget.identity")


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
    return resolve_tokens([raw]).get(raw) if raw else None


def resolve_tokens(raws: list[str]) -> dict[str, WidgetToken]:
    """:func:`resolve_token` for many raw secrets in one query (sockets opening together).

    Returns the active ones by raw secret, each with instances of its own.
    """
    hashes = {hash_token(raw): raw for raw in raws if raw and len(raw) <= 128}
    # Expired tokens are refused here, the one lookup every transport resolves through.
    live = [token for token in _tokens_by_hash(list(hashes)) if datarights.is_live(token)]
    datarights.touch_tokens(live)
    return {hashes[token.key_hash]: token for token in live}


def _tokens_with_contact() -> models.QuerySet[WidgetToken]:
    return WidgetToken.objects.select_related("contact", "contact__widget")


# Every page view resolves one token and every socket of a connection storm one of a batch:
# compiling the select_related query costs several times running it (prepared.py). Order
# is moot.
_tokens_by_hash = PreparedBatches(
    lambda *key_hashes: _tokens_with_contact().filter(key_hash__in=key_hashes).order_by(), str)


def revoke_token(token: WidgetToken, *, notify: bool = True) -> None:
    """End a browser's identity and tell every tab of that browser (``logout``)."""
    WidgetToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.revoked_at = timezone.now()
    if notify:
        events.publish([events.Event(events.token_group(token.pk), events.LOGOUT, {})])


def revoke_merged_tokens(source: Contact, *, keep: WidgetToken) -> None:
    """A merged anonymous contact's other tokens (other tabs' concurrent logins) are obsolete:
    its history now belongs to the identified contact, so they end with ``logout``."""
    for other in _other_live_tokens(source.pk, keep.pk):
        revoke_token(other)


# Every identify and login asks (nearly always to find none): compiled once (prepared.py).
_other_live_tokens = Prepared(
    lambda contact_id, keep_id: WidgetToken.objects.filter(
        contact_id=contact_id, revoked_at__isnull=True).exclude(pk=keep_id), int, int)


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


def token_widget(token: WidgetToken | None, app_id: str | None) -> Widget | None:
    """The widget a page names (``app_id``; none names the token's own) when it is the
    token's, which was loaded with it, fresh: no query. None when it must be looked up."""
    if token is not None and (not app_id or token.contact.widget.app_id == app_id):
        return token.contact.widget
    return None


def create_anonymous(widget: Widget) -> IssuedToken:
    with transaction.atomic():
        contact = Contact.objects.create(widget=widget)
        return issue_token(contact)


def contact_for_user(widget: Widget, user: Any) -> Contact:
    """The one contact of a site user on a widget, created (and populated) on demand."""

    def new() -> Contact:
        contact = Contact(widget=widget, user=user)
        get_adapter().populate_contact(contact, user)
        return contact

    return _one_contact(lambda: Contact.objects.filter(widget=widget, user=user).first(), new)


def _contact_for_external(widget: Widget, external_id: str) -> Contact:
    def find() -> Contact | None:
        found = _contact_by_external_id(widget.pk, external_id)
        if found:
            found[0].widget = widget  # the caller's instance: no query when it is read
        return found[0] if found else None

    return _one_contact(find, lambda: Contact(widget=widget, external_id=external_id))


# Every identify asks: compiled once (prepared.py). A site user's pk may be of any type,
# so contact_for_user keeps the ORM.
_contact_by_external_id = Prepared(
    lambda widget_id, external_id: Contact.objects.filter(
        widget_id=widget_id, external_id=external_id).order_by(), int, str)


def _one_contact(find: Callable[[], Contact | None], new: Callable[[], Contact]) -> Contact:
    """An identity's one contact on a widget: found, else created. Two requests creating it
    at once end with the same row: the unique constraint refuses the second insert, which
    then finds the first's."""
    contact = find()
    if contact is not None:
        return contact
    contact = new()
    try:
        with transaction.atomic():
            contact.save(force_insert=True)
    except IntegrityError:  # another request created it first
        found = find()
        if found is None:
            raise
        return found
    return contact


def merge_contacts(source: Contact, target: Contact) -> None:
    """Fold an anonymous contact's history into an identified one.

    Only anonymous sources are merged: two identified identities are never combined, since
    that would show one person's history to another. The merge runs in a savepoint and
    never raises: a login or logout must not fail because of the chat, so on a database
    error the browser still rotates to ``target``, without the anonymous history.
    """
    if source.pk == target.pk or source.is_identified:
        return
    try:
        with transaction.atomic():
            if conf.get("MERGE_ON_IDENTIFY"):
                _move_history(source, target)
            source.merged_into = target
            source.save(update_fields=["merged_into"])
    except DatabaseError:
        logger.exception("chatwidget: contact %s not merged into %s; rotating without merging",
                         source.pk, target.pk)


def _move_history(source: Contact, target: Contact) -> None:
    # A message's contact is its conversation's (models.Message), so a source without
    # conversations has no messages to move: a fresh visitor's identify skips both updates.
    if Conversation.objects.filter(contact=source).update(contact=target):
        taken = Message.objects.filter(
            contact=target, sender_kind=Message.Sender.CONTACT
        ).exclude(client_id="").values("client_id")
        # Both contacts may have used a client_id (ids are per browser tab, not global): the
        # moved copy gets a suffix its message id makes unique, so the unique key holds.
        Message.objects.filter(
            contact=source, sender_kind=Message.Sender.CONTACT, client_id__in=taken
        ).update(client_id=Concat(Left("client_id", 40), Value("~m"), F("id"),
                                 output_field=models.CharField()))
        Message.objects.filter(contact=source).update(contact=target)
    changed = []
    room = conf.get("MAX_ATTRIBUTES") - len(target.attributes)
    fresh = [(k, v) for k, v in source.attributes.items() if k not in target.attributes]
    if fresh and room > 0:
        # The identified contact's own attributes win, and the merge keeps the same cap
        # the API enforces on every update.
        target.attributes = {**target.attributes, **dict(fresh[:room])}
        changed.append("attributes")
    if source.email and not target.email:
        target.email = source.email
        changed.append("email")
    if changed:
        target.save(update_fields=changed)


def _switch(token: WidgetToken | None, target: Contact) -> IssuedToken:
    """Move a browser to ``target``: merge anonymous history, rotate the token, say ``login``.

    The old token is revoked and a new one issued, so a token captured before login never
    grants the identified history (no fixation).
    """
    if token is not None:
        merge_contacts(token.contact, target)
        revoke_token(token, notify=False)
        if token.contact.merged_into_id == target.pk:
            revoke_merged_tokens(token.contact, keep=token)
    issued = issue_token(target)
    if token is not None:
        # The browser's other tabs still hold the old token's sockets: they switch too.
        # Bare: whoever still holds the old token learns only that it must ping again,
        # never whom this browser became (that is the new token's to fetch).
        events.publish([events.Event(events.token_group(token.pk), events.LOGIN, {})])
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
        contact = _contact_for_external(widget, external_id)
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


class Transport(enum.Enum):
    """How a widget token reached the server; it decides what a mismatch may change."""

    COOKIE = "cookie"  # any same-site HTTP request (the middleware, cookie REST calls)
    PING = "ping"  # the widget loading: the one place a browser without a token gets one
    BEARER = "bearer"  # a cross-origin embed's REST call
    SOCKET = "socket"  # a visitor socket, at connect and on every recheck


class Action(enum.Enum):
    KEEP = "keep"  # the token stands (or, with no token, there is nothing to change)
    SWITCH = "switch"  # become the site user's contact: merge, rotate the token
    REVOKE = "revoke"  # end the token and clear the cookie
    REFUSE = "refuse"  # not valid here, but this transport may not end it (a socket, a
    #                    bearer call, another widget's token): answer as unauthenticated


@dataclass(frozen=True)
class Decision:
    action: Action
    user: Any = None  # SWITCH: whose contact the browser becomes


def session_user(user: Any, session_hash: str | None = None) -> Any:
    """The site user a session still authenticates, or None.

    ``session_hash`` is the auth hash stored in the session when it logged in (sockets
    re-read it; HTTP requests pass None because AuthenticationMiddleware already checked
    it). A password change alters the user's hash, which ends every other session, and a
    deactivated user is nobody, as Django's ModelBackend has it.
    """
    if user is None or not user.is_authenticated or not getattr(user, "is_active", True):
        return None
    if session_hash is not None and not constant_time_compare(
        session_hash, user.get_session_auth_hash()
    ):
        return None
    return user


def decide(
    token: WidgetToken | None,
    user: Any,
    widget: Widget | None,
    transport: Transport,
    *,
    session_hash: str | None = None,
    site_event: str | None = None,
) -> Decision:
    """THE identity rule (DESIGN §2): may this browser keep ``token``'s contact?

    Pure: reads the arguments only. The site login owns the identity: an authenticated
    browser must be that user's contact, and a user's contact is never kept by a browser
    not logged in as that user. Only transports that can write the cookie (a page, a ping)
    switch or revoke; the others refuse and let the next ping fix it.

    ``site_event`` is ``"login"`` or ``"logout"`` when the site session changed during
    this very request: a logout ends whatever identity the browser had, and a login always
    rotates, even a token already naming the user, so no token outlives a login (fixation).
    """
    user = session_user(user, session_hash)
    if site_event == "logout":
        return Decision(Action.REVOKE)
    if site_event == "login" and user is not None:
        return Decision(Action.SWITCH, user)
    writes_cookie = transport in (Transport.COOKIE, Transport.PING)
    if token is not None and (
        token.revoked_at is not None
        or (widget is not None and token.contact.widget_id != widget.pk)
    ):
        if transport is not Transport.PING:
            return Decision(Action.REFUSE)
        token = None  # another widget's visitor: not this widget's, and not to be ended
    if token is None:
        if transport is Transport.PING and user is not None:
            return Decision(Action.SWITCH, user)
        return Decision(Action.KEEP if transport is Transport.COOKIE else Action.REFUSE)
    if user is not None:
        if token.contact.user_id == user.pk:
            return Decision(Action.KEEP)
        return Decision(Action.SWITCH, user) if writes_cookie else Decision(Action.REFUSE)
    if token.contact.user_id is None:
        return Decision(Action.KEEP)
    # A user's history is never visible to a browser not logged in as that user.
    return Decision(Action.REVOKE) if writes_cookie else Decision(Action.REFUSE)


def apply(decision: Decision, token: WidgetToken | None,
          widget: Widget | None = None) -> IssuedToken | None:
    """Carry out a :func:`decide` verdict; returns the browser's new token, if any.

    For REVOKE the caller clears its cookie; KEEP and REFUSE change nothing stored.
    """
    if decision.action is Action.SWITCH:
        if token is not None and widget is not None and token.contact.widget_id != widget.pk:
            token = None
        return login_user(token, decision.user, widget)
    if decision.action is Action.REVOKE and token is not None:
        revoke_token(token)
    return None


# How stale ``Contact.last_seen_at`` may get before a ping writes it again: the ping runs
# on every page view, and a write per page view would be most of its cost.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def touch(contact: Contact, **seen: str) -> None:
    """Last seen now; ``seen`` may add what the widget reported (page_url, page_title,
    user_agent) for the agents' contact panel, cut to fit their columns.

    Writes only when something the agents see changed, or the last write is older than
    ``LAST_SEEN_RESOLUTION``.
    """
    fields = {name: value[: Contact._meta.get_field(name).max_length]
              for name, value in seen.items()}
    now = timezone.now()
    if (all(getattr(contact, name) == value for name, value in fields.items())
            and not _seen_long_ago(contact, now)):
        return
    Contact.objects.filter(pk=contact.pk).update(last_seen_at=now, **fields)
    contact.last_seen_at = now
    for name, value in fields.items():
        setattr(contact, name, value)


def touch_all(contacts: list[Contact]) -> None:
    """:func:`touch` without page details for contacts whose sockets opened together: the
    stale ones in one write (a reconnect storm would otherwise queue a write per socket)."""
    now = timezone.now()
    stale = [contact for contact in contacts if _seen_long_ago(contact, now)]
    if stale:
        Contact.objects.filter(pk__in=[contact.pk for contact in stale]).update(last_seen_at=now)
        for contact in stale:
            contact.last_seen_at = now


def _seen_long_ago(contact: Contact, now: datetime) -> bool:
    return now - contact.last_seen_at >= LAST_SEEN_RESOLUTION
