"""A database that cannot serve a request right now, told apart from a bug.

No pooled connection free within the pool's timeout, a server refusing clients ("too many
clients already"), a connection lost mid-request: none is the caller's fault and the same
request succeeds a moment later. Every transport answers it the same way: REST with 503
``unavailable`` and ``Retry-After`` (``api.errors``), a socket frame with an ``unavailable``
error frame, a socket handshake with close code 1013 (``consumers.base``).
"""

from __future__ import annotations

import logging

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
