"""Which origins may open chatwidget's sockets.

Channels' ``AllowedHostsOriginValidator`` admits only the site's own hosts, which would
shut out cross-origin embeds: a widget on ``https://shop.example`` talking to the chat on
``https://support.example``. :class:`WidgetOriginValidator` keeps that rule for every
socket and adds one door: a foreign origin may reach the *visitor* socket, marked
``scope["chatwidget_cross_origin"] = True``. The visitor consumer then admits it only if the
origin is allowed for the widget (``Widget.allowed_origins`` or ``CHATWIDGET
["ALLOWED_ORIGINS"]``) and only with a bearer token: the browser's ambient cookie is never
trusted from a foreign origin (cross-site websocket hijacking). Being the outermost layer,
it also answers a handshake the database could not serve (``database.answer_handshake``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import markcoroutinefunction
from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings

from . import conf, database

# The visitor socket's route (chatwidget.routing); matched as a suffix so the app's
# patterns may be mounted under a prefix.
VISITOR_PATH_SUFFIX = "ws/chatwidget/"


def header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def site_hosts() -> list[str]:
    """``ALLOWED_HOSTS``, read now (not at import) so ``override_settings`` applies."""
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return hosts


def is_site_origin(origin: str | None) -> bool:
    """Channels' own ALLOWED_HOSTS rule for an ``Origin`` header value."""
    validator = OriginValidator(None, site_hosts())
    try:
        return validator.valid_origin(urlsplit(origin) if origin else None)
    except ValueError:  # a malformed port in the header
        return False


def _normalise(origin: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(origin.strip().lower().rstrip("/"))
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    default = {"http": 80, "ws": 80, "https": 443, "wss": 443}.get(parts.scheme)
    return parts.scheme, parts.hostname, port or default


def origin_in(origin: str | None, allowed: Iterable[str]) -> bool:
    """Exact ``scheme://host[:port]`` match (default ports implied); ``"*"`` allows any."""
    if not origin:
        return False
    wanted = _normalise(origin)
    if wanted is None:
        return False
    for pattern in allowed:
        if not isinstance(pattern, str):
            continue
        if pattern == "*" or _normalise(pattern) == wanted:
            return True
    return False


def embed_origin_allowed(widget: Any, origin: str | None) -> bool:
    """May a page on ``origin`` embed ``widget`` cross-origin (with a bearer token)?"""
    return origin_in(origin, [*conf.get("ALLOWED_ORIGINS"), *(widget.allowed_origins or [])])


class WidgetOriginValidator:
    """``AllowedHostsOriginValidator`` plus cross-origin embeds on the visitor socket.

    Wrap the websocket stack with it in place of Channels' validator (project/asgi.py).
    """

    def __init__(self, application: Any, visitor_path_suffix: str = VISITOR_PATH_SUFFIX) -> None:
        self.application = application
        self.visitor_path_suffix = visitor_path_suffix

    @markcoroutinefunction  # an ASGI 3 application to servers and asgiref alike
    def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Awaitable[Any]:
        # Not a coroutine itself: it returns the one that serves the socket, so no frame of
        # its own stays alive (with its locals) as long as the socket does.
        if scope["type"] != "websocket":
            raise ValueError("WidgetOriginValidator only handles websocket connections")
        origin = header(scope, b"origin")
        if is_site_origin(origin):
            # Left unmarked (consumers treat that as same-site, and the visitor socket checks
            # the origin again): a marked copy of the scope would live as long as the socket.
            return database.answer_handshake(self.application, scope, receive, send)
        if origin and scope.get("path", "").endswith(self.visitor_path_suffix):
            # The consumer checks the origin against the widget, which needs the database.
            return database.answer_handshake(
                self.application, dict(scope, chatwidget_cross_origin=True), receive, send
            )
        return WebsocketDenier()(scope, receive, send)
