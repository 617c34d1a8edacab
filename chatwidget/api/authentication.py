"""How a visitor's browser proves it is a contact: the widget token.

Same-origin pages carry the token in the HttpOnly cookie the middleware reads; cross-origin
embeds, which cannot share that cookie, send ``Authorization: Bearer <token>``.

``request.user`` stays the *site* user (or AnonymousUser), because the site login decides
the chat identity (DESIGN §2); ``request.auth`` is the :class:`~chatwidget.models.WidgetToken`.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, CSRFCheck, TokenAuthentication
from rest_framework.request import Request

from .. import identity
from ..models import WidgetToken
from ..session import WidgetSession, get_session

BEARER = "bearer"


def site_user(request: Request) -> Any:
    """The Django user of the site session (AuthenticationMiddleware's), not DRF's."""
    return get_session(request).site_user or AnonymousUser()


def read_bearer(request: Request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != BEARER or not raw.strip():
        return None
    return raw.strip()


def widget_session(request: Request) -> WidgetSession:
    """The request's widget session, switched to the bearer token when one is sent."""
    session = get_session(request)
    raw = read_bearer(request)
    if raw is not None and not session.from_bearer:
        session.use_bearer(raw)
    return session


class VisitorAuthentication(BaseAuthentication):
    """Authenticates a contact by its widget token (cookie or bearer)."""

    check_csrf = True

    def authenticate(self, request: Request) -> tuple[Any, WidgetToken] | None:
        session = widget_session(request)
        user = site_user(request)
        token = session.token
        if token is None:
            return None
        if session.from_bearer and not identity.token_matches_user(token, user):
            # The middleware enforces DESIGN §2 for cookies; a bearer token bound to a site
            # user is likewise worthless without that user's session.
            return None
        if self.check_csrf and not session.from_bearer:
            self.enforce_csrf(request)
        return user, token

    def enforce_csrf(self, request: Request) -> None:
        """The cookie rides along on cross-site requests, so unsafe methods need the token.

        Bearer requests are exempt: a cross-site attacker cannot read or send the header.
        """
        check = CSRFCheck(lambda request: None)
        check.process_request(request)
        reason = check.process_view(request, None, (), {})
        if reason:
            raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")

    def authenticate_header(self, request: Request) -> str:
        # A non-empty challenge is what makes DRF answer 401 (the SDK then pings), not 403.
        return 'Bearer realm="chatwidget"'


class PingAuthentication(VisitorAuthentication):
    """For ``ping`` only: it reads nothing an attacker could see cross-site and at worst
    creates an anonymous contact, so it must work before the page holds a CSRF token."""

    check_csrf = False


class AgentTokenAuthentication(TokenAuthentication):
    """DRF's ``Authorization: Token …`` for bots, refused clearly when the app is missing.

    ``rest_framework.authtoken`` is optional: a site that never hands out tokens need not
    install it, and then a token header is an error that says what to do, not a crash.
    """

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.split(" ", 1)[0].lower() != self.keyword.lower():
            return None
        if not apps.is_installed("rest_framework.authtoken"):
            raise exceptions.PermissionDenied(
                "Token authentication needs 'rest_framework.authtoken' in INSTALLED_APPS."
            )
        return super().authenticate(request)
