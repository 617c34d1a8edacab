"""The widget identity of one HTTP request, and the cookie that carries it.

``request.chatwidget`` is a :class:`WidgetSession`. Views change the identity through it
(``set_token`` / ``clear``); the middleware writes the resulting cookie on the response.
Page scripts never see the token: the cookie is HttpOnly, and the token is returned in a
response body only to bearer-token (cross-origin) clients that already hold one.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.http import HttpRequest, HttpResponseBase

from . import conf, datarights, identity
from .models import WidgetToken

_UNSET = object()


class WidgetSession:
    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.raw: str | None = request.COOKIES.get(conf.get("COOKIE_NAME"))
        self.from_bearer = False
        self._token: Any = _UNSET
        self.cookie_action: tuple[str, str | None] | None = None  # ("set", raw) / ("delete", None)
        self.logout_pending = False
        self.login_pending = False
        # Users whose sockets must re-check once the response is ready (a logout).
        self.recheck_user_ids: set[int] = set()
        # The site login as AuthenticationMiddleware set it (still lazy), kept here rather
        # than read back from request.user: DRF overwrites request.user with AnonymousUser
        # when its own authenticators fail. The auth signals keep it current (signals.py).
        self.site_user: Any = getattr(request, "user", None)

    def use_bearer(self, raw: str) -> None:
        """Cross-origin embeds authenticate with ``Authorization: Bearer``, not the cookie."""
        self.raw = raw
        self.from_bearer = True
        self._token = _UNSET

    @property
    def token(self) -> WidgetToken | None:
        if self._token is _UNSET:
            self._token = identity.resolve_token(self.raw)
        return self._token

    @property
    def contact(self):
        token = self.token
        return token.contact if token is not None else None

    def set_token(self, issued: identity.IssuedToken) -> None:
        self.raw = issued.raw
        self._token = issued.token
        if not self.from_bearer:
            self.cookie_action = ("set", issued.raw)

    def clear(self) -> None:
        self.raw = None
        self._token = None
        if not self.from_bearer:
            self.cookie_action = ("delete", None)

    # ------------------------------------------------------------ the invariant

    def enforce(self) -> None:
        """Keep the widget identity in step with the site login (DESIGN §2).

        Run before the view (so it sees the right contact) and after it (a login or logout
        in the view changes the site user). :func:`identity.decide` rules; this applies it.
        """
        site_event = None
        if self.logout_pending:
            site_event, self.logout_pending, self.login_pending = "logout", False, False
        elif self.login_pending:
            site_event, self.login_pending = "login", False
        elif self.raw is None or self.from_bearer:
            return
        transport = identity.Transport.BEARER if self.from_bearer else identity.Transport.COOKIE
        decision = identity.decide(self.token, self.site_user, None, transport,
                                   site_event=site_event)
        self.apply(decision)

    def apply(self, decision: identity.Decision, widget: Any = None) -> None:
        """Carry out a verdict on this request: the new token, or a cleared cookie."""
        if decision.action is identity.Action.KEEP and self.raw and self.token is None:
            # Unknown or revoked: drop it so the widget starts a fresh visitor on its ping.
            self.clear()
            return
        issued = identity.apply(decision, self.token, widget)
        if issued is not None:
            self.set_token(issued)
        elif decision.action is identity.Action.REVOKE:
            self.clear()

    def write_cookie(self, response: HttpResponseBase) -> None:
        if self.cookie_action is None:
            return
        action, raw = self.cookie_action
        name = conf.get("COOKIE_NAME")
        if action == "set":
            response.set_cookie(
                name,
                raw,
                max_age=datarights.cookie_max_age(),
                path=conf.get("COOKIE_PATH"),
                domain=conf.get("COOKIE_DOMAIN"),
                secure=conf.cookie_secure(),
                httponly=True,
                samesite="Lax",
            )
        else:
            response.delete_cookie(
                name, path=conf.get("COOKIE_PATH"), domain=conf.get("COOKIE_DOMAIN"),
                samesite="Lax",
            )
        # The response depends on the cookie: keep caches from sharing it.
        response.headers.setdefault("Cache-Control", "private, no-store")


def get_session(request: Any) -> WidgetSession:
    """The request's widget session, also for requests that bypassed the middleware."""
    request = getattr(request, "_request", request)  # a DRF Request wraps the HttpRequest
    session = getattr(request, "chatwidget", None)
    if session is None:
        session = request.chatwidget = WidgetSession(request)
    return session


def socket_site_user(scope: dict[str, Any]) -> tuple[Any, str | None]:
    """The user a socket's Django session names *now*, and the auth hash it stored.

    Channels resolved ``scope["user"]`` once, at connect, and keeps the session it read
    then; a logout, a password change or a deactivation since shows only in a fresh read.
    Call from sync code (it queries). Returns (None, None) for no or an ended session.
    """
    key = getattr(scope.get("session"), "session_key", None)
    if not key:
        return None, None
    fresh = import_module(settings.SESSION_ENGINE).SessionStore(key)
    try:
        user_id = get_user_model()._meta.pk.to_python(fresh[SESSION_KEY])
        backend_path = fresh[BACKEND_SESSION_KEY]
    except KeyError:
        return None, None
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None, None
    return load_backend(backend_path).get_user(user_id), fresh.get(HASH_SESSION_KEY)
