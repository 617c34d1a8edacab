"""The widget identity of one HTTP request, and the cookie that carries it.

``request.chatwidget`` is a :class:`WidgetSession`. Views change the identity through it
(``set_token`` / ``clear``); the middleware writes the resulting cookie on the response.
Page scripts never see the token: the cookie is HttpOnly, and the token is returned in a
response body only to bearer-token (cross-origin) clients that already hold one.
"""

from __future__ import annotations

import re
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

# The SDK names its widget on every API call; a page request names none.
APP_HEADER = "X-Chatwidget-App"
_APP_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def cookie_name(app_id: str | None) -> str:
    """Each widget keeps its own visitor in its own cookie: ``COOKIE_NAME`` for the default
    widget, ``<COOKIE_NAME>_<app_id>`` for the others, so two widgets on one site never
    overwrite each other's identity (docs/protocol.md)."""
    base = conf.get("COOKIE_NAME")
    if not app_id or app_id == conf.get("DEFAULT_APP_ID"):
        return base
    return f"{base}_{app_id}"


def clean_app_id(value: Any) -> str | None:
    return value if isinstance(value, str) and _APP_ID.fullmatch(value) else None


class WidgetSession:
    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.app_id = clean_app_id(request.headers.get(APP_HEADER))
        self.raw: str | None = request.COOKIES.get(cookie_name(self.app_id))
        self.from_bearer = False
        self._token: Any = _UNSET
        # cookie name → ("set", raw) or ("delete", None), written on the response
        self.cookie_actions: dict[str, tuple[str, str | None]] = {}
        self.logout_pending = False
        self.login_pending = False
        self.others_checked = False
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

    def select_app(self, app_id: str | None) -> None:
        """Speak for ``app_id``'s widget: its cookie, not another widget's (a ping names it)."""
        app_id = clean_app_id(app_id)
        if self.from_bearer or app_id is None or cookie_name(app_id) == self.cookie_name:
            return
        self.app_id = app_id
        self.raw = self.request.COOKIES.get(self.cookie_name)
        self._token = _UNSET

    @property
    def cookie_name(self) -> str:
        return cookie_name(self.app_id)

    @property
    def token(self) -> WidgetToken | None:
        if self._token is _UNSET:
            self._token = identity.resolve_token(self.raw)
        return self._token

    def set_token(self, issued: identity.IssuedToken) -> None:
        self.raw = issued.raw
        self._token = issued.token
        if not self.from_bearer:
            self.cookie_actions[self.cookie_name] = ("set", issued.raw)

    def clear(self) -> None:
        self.raw = None
        self._token = None
        if not self.from_bearer:
            self.cookie_actions[self.cookie_name] = ("delete", None)

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
        if self.from_bearer and site_event is None:
            return
        if self.raw is not None or site_event is not None:
            transport = (identity.Transport.BEARER if self.from_bearer
                         else identity.Transport.COOKIE)
            self.apply(identity.decide(self.token, self.site_user, None, transport,
                                       site_event=site_event))
        if not self.from_bearer and (site_event is not None or not self.others_checked):
            self.others_checked = True
            self.enforce_other_widgets(site_event)

    def enforce_other_widgets(self, site_event: str | None) -> None:
        """The same rule for the browser's cookies of the other widgets on the site."""
        base = conf.get("COOKIE_NAME")
        for name, raw in self.request.COOKIES.items():
            if name == self.cookie_name or not (name == base or name.startswith(base + "_")):
                continue
            if name in self.cookie_actions:  # already done on the way in
                continue
            token = identity.resolve_token(raw)
            if token is None:  # unknown or revoked
                self.cookie_actions[name] = ("delete", None)
                continue
            decision = identity.decide(token, self.site_user, None, identity.Transport.COOKIE,
                                       site_event=site_event)
            issued = identity.apply(decision, token)
            if issued is not None:
                self.cookie_actions[name] = ("set", issued.raw)
            elif decision.action is identity.Action.REVOKE:
                self.cookie_actions[name] = ("delete", None)

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
        for name, (action, raw) in self.cookie_actions.items():
            self._write(response, name, action, raw)

    def _write(self, response: HttpResponseBase, name: str, action: str,
               raw: str | None) -> None:
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
