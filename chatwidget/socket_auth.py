"""Channels' ``AuthMiddlewareStack`` for the sockets, at a socket's cost instead of three.

The same ``scope["cookies"]``, ``scope["session"]`` and ``scope["user"]`` as Channels'
stack, with two differences that matter when thousands of sockets are open, or connect at
once (a deploy, a network blip: every visitor reconnects):

- Channels' ``AuthMiddleware`` resolves the user in ``database_sync_to_async`` on every
  handshake, also one without a session cookie, whose user is anonymous whatever the
  database holds. Every socket's database work queues on that one thread, so this trip
  was one of the two each visitor's handshake queued there. Skipped here.
- Channels' three middlewares each copy the scope, and their coroutines (with those
  copies, and the session wrapper that sees every frame the socket sends) stay alive as
  long as the socket: about 3 KB a socket (bench/README.md, connection storm). Here a
  websocket gets one copy, and its frames go straight out: the session wrapper only ever
  saves on ``http.response.start``, which a websocket never sends.

HTTP scopes (if someone mounts it there) go through Channels' own stack unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable
from importlib import import_module
from typing import Any

from asgiref.sync import markcoroutinefunction
from channels.auth import AuthMiddleware, UserLazyObject, get_user
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.http import parse_cookie
from django.utils.functional import LazyObject


class SessionAuthMiddleware(AuthMiddleware):
    """Channels' ``AuthMiddleware`` without the user look-up when there is no session."""

    async def resolve_scope(self, scope: dict[str, Any]) -> None:
        await resolve_user(scope)


class SocketAuthMiddleware:
    """Cookies, session and user for a websocket in one scope copy (module docstring)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.stack = CookieMiddleware(SessionMiddleware(SessionAuthMiddleware(inner)))

    @markcoroutinefunction  # an ASGI 3 application to servers and asgiref alike
    def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Awaitable[Any]:
        # Not a coroutine itself: without a session it returns the inner application's
        # coroutine, so no frame of this middleware stays alive as long as the socket.
        if scope["type"] != "websocket" or "session" in scope or "user" in scope:
            # Another session middleware above, or HTTP: Channels' rules, whole.
            return self.stack(scope, receive, send)
        cookies = _cookies(scope)
        store = import_module(settings.SESSION_ENGINE).SessionStore
        session = LazyObject()
        session._wrapped = store(cookies.get(settings.SESSION_COOKIE_NAME))
        scope = dict(scope, cookies=cookies, session=session, user=UserLazyObject())
        if session.session_key is None:
            _anonymous(scope)
            return self.inner(scope, receive, send)
        return self._with_user(scope, receive, send)

    async def _with_user(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        await resolve_user(scope)
        return await self.inner(scope, receive, send)


async def resolve_user(scope: dict[str, Any]) -> None:
    """``scope["user"]`` as Channels resolves it, without a database trip when it cannot
    be anyone (no session key)."""
    if scope["session"].session_key is None:
        _anonymous(scope)
        return
    scope["user"]._wrapped = await get_user(scope)


def _anonymous(scope: dict[str, Any]) -> None:
    from django.contrib.auth.models import AnonymousUser  # needs the apps ready

    scope["user"]._wrapped = AnonymousUser()


def _cookies(scope: dict[str, Any]) -> dict[str, str]:
    """``CookieMiddleware``'s parsing: the first Cookie header, as Django's request.COOKIES."""
    for name, value in scope["headers"]:
        if name == b"cookie":
            return parse_cookie(value.decode("latin1"))
    return {}


def AuthMiddlewareStack(inner: Any) -> SocketAuthMiddleware:  # noqa: N802  (Channels' name)
    return SocketAuthMiddleware(inner)
