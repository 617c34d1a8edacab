"""Channels' ``AuthMiddlewareStack`` for the sockets, without a wasted database trip.

Channels' ``AuthMiddleware`` resolves ``scope["user"]`` in ``database_sync_to_async`` on
every handshake, also one without a session cookie, whose user is anonymous whatever the
database holds. Every socket's database work queues on that one thread, so when many
visitors connect at once (a deploy, a network blip) that trip was one of the two each
handshake queued there. Otherwise identical: a drop-in for Channels' stack.
"""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddleware
from channels.sessions import CookieMiddleware, SessionMiddleware


class SessionAuthMiddleware(AuthMiddleware):
    async def resolve_scope(self, scope: dict[str, Any]) -> None:
        if scope["session"].session_key is None:
            from django.contrib.auth.models import AnonymousUser  # needs the apps ready

            scope["user"]._wrapped = AnonymousUser()
            return
        await super().resolve_scope(scope)


def AuthMiddlewareStack(inner: Any) -> CookieMiddleware:  # noqa: N802  (Channels' name)
    return CookieMiddleware(SessionMiddleware(SessionAuthMiddleware(inner)))
