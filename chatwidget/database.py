"""A database that cannot serve a request right now, told apart from a bug.

No pooled connection free within the pool's timeout, a server refusing clients ("too many
clients already"), a connection lost mid-request: none is the caller's fault and the same
request succeeds a moment later. Every transport answers it the same way: REST with 503
``unavailable`` and ``Retry-After`` (``api.errors``), a socket frame with an ``unavailable``
error frame, a socket handshake with close code 1013 (``consumers.base``, and
:func:`answer_handshake` for what runs before a consumer).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import OperationalError

try:
    import psycopg
except ImportError:  # SQLite-only sites: nothing here can be a PostgreSQL outage
    psycopg = None

logger = logging.getLogger("chatwidget.database")

# Seconds a client is asked to wait before it retries.
RETRY_AFTER = 1
MESSAGE = "The service is busy. Retry shortly."

# SQLSTATE classes of a server that is unreachable or out of capacity: connection exception,
# insufficient resources (too many connections, out of memory), operator intervention
# (shutting down, cannot connect now). Deadlocks and serialization failures (class 40)
# are not here: they mean a race in the code, and must stay loud.
_UNAVAILABLE_CLASSES = frozenset({"08", "53", "57"})
# ASGI messages that answer a websocket handshake.
_HANDSHAKE_ANSWERS = frozenset({"websocket.accept", "websocket.close",
                                "websocket.http.response.start"})


def unavailable(error: BaseException) -> bool:
    """Is ``error`` Django's wrapper around a PostgreSQL that cannot serve us now?

    Connection failures and the pool's own errors (``PoolTimeout``) carry no SQLSTATE.
    """
    if psycopg is None or not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    if not isinstance(cause, psycopg.OperationalError):
        return False
    return cause.sqlstate is None or cause.sqlstate[:2] in _UNAVAILABLE_CLASSES


def report(error: BaseException) -> None:
    """One line for the operator, not a traceback: the pool or the server is too small."""
    cause = error.__cause__ or error
    first_line = next(iter(str(cause).splitlines()), "")
    logger.warning("chatwidget: database unavailable, client asked to retry: %s: %s",
                   type(cause).__name__, first_line)


class _Handshake:
    """A socket's receive and send, noting whether its connect came and was answered.

    Every frame of the socket passes here for as long as it is open, so it is one small
    object (two closures and their cells cost about 0.4 KB more a socket).
    """

    __slots__ = ("_receive", "_send", "connected", "answered")

    def __init__(self, receive: Any, send: Any) -> None:
        self._receive, self._send = receive, send
        self.connected = self.answered = False

    async def receive(self) -> dict[str, Any]:
        message = await self._receive()
        self.connected = self.connected or message["type"] == "websocket.connect"
        return message

    async def send(self, message: dict[str, Any]) -> None:
        self.answered = self.answered or message["type"] in _HANDSHAKE_ANSWERS
        await self._send(message)


async def answer_handshake(application: Any, scope: dict[str, Any], receive: Any,
                           send: Any) -> Any:
    """Run a websocket ``application``; if the database fails it before the handshake is
    answered (Channels' ``AuthMiddleware`` reads the session before any consumer runs),
    accept and close with 1013 so the client reconnects later, instead of an HTTP 500.

    Consumers answer their own failures (``consumers.base``); this covers what runs before.
    """
    handshake = _Handshake(receive, send)
    try:
        return await application(scope, handshake.receive, handshake.send)
    except OperationalError as error:
        if handshake.answered or not unavailable(error):
            raise
        report(error)
        from .consumers.base import CloseCode  # here: consumers.base imports this module

        if not handshake.connected:
            await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": int(CloseCode.TRY_AGAIN)})
