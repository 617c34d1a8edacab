"""Which database errors mean "busy, retry" (503 / 1013) and which stay loud 500s.

The live behaviour is tested on a real PostgreSQL in tests/scaleout/test_connection_budget.py;
this table pins the decision for the errors that are hard to provoke there.
"""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from django.db import IntegrityError, OperationalError
from psycopg import errors as pg
from psycopg_pool import PoolTimeout

from chatwidget import database


def wrapped(cause: BaseException, kind: type[Exception] = OperationalError) -> Exception:
    """What Django raises: its own class, the driver's error as the cause."""
    error = kind(str(cause))
    error.__cause__ = cause
    return error


@pytest.mark.parametrize("cause", [
    PoolTimeout("couldn't get a connection after 10.00 sec"),
    psycopg.OperationalError("connection failed: connection refused"),
    pg.TooManyConnections("sorry, too many clients already"),
    pg.AdminShutdown("terminating connection due to administrator command"),
    pg.CannotConnectNow("the database system is starting up"),
], ids=type)
def test_a_database_that_cannot_serve_now_is_unavailable(cause) -> None:
    assert database.unavailable(wrapped(cause))


@pytest.mark.parametrize("error", [
    wrapped(pg.DeadlockDetected("deadlock detected")),
    wrapped(pg.SerializationFailure("could not serialize access")),
    wrapped(pg.UniqueViolation("duplicate key"), IntegrityError),
    wrapped(sqlite3.OperationalError("no such table: chatwidget_contact")),
    OperationalError("no cause"),
], ids=lambda error: type(error.__cause__ or error).__name__)
def test_races_and_bugs_stay_errors(error) -> None:
    assert not database.unavailable(error)
