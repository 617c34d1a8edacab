"""The widget identity of one HTTP request, and the cookie that carries it.

``request.chatwidget`` is a :class:`WidgetSession`. Views change the identity through it
(``set_token`` / ``clear``); the middleware writes the resulting cookie on the response.
Page scripts never see the token: the cookie is HttpOnly, and the token is returned in a
response body only to bearer-token (cross-origin) clients that already hold one.
"""

from __future__ import annotations

from typing import Any

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
        in the view changes the site user).
        """
        if self.logout_pending:
            self.logout_pending = False
            identity.logout(self.token)
            self.clear()
            return
        user = self.site_user
        if self.login_pending:
            self.login_pending = False
            if user is not None and user.is_authenticated:
                self.set_token(identity.login_user(self.token, user))
            return
        if self.raw is None or self.from_bearer:
            return
        token = self.token
        if token is None:
            # Unknown or revoked: drop it so the widget starts a fresh visitor on its ping.
            self.clear()
            return
        if identity.token_matches_user(token, user):
            return
        if user is not None and user.is_authenticated:
            self.set_token(identity.login_user(token, user))
        else:
            # A user's history is never visible to a browser not logged in as that user.
            identity.revoke_token(token)
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
