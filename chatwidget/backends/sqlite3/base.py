"""SQLite whose connections outlive the thread that opened them.

Django keeps a connection per thread, and its ASGI handler runs every HTTP request on a
thread of its own, so ``CONN_MAX_AGE`` never carries a connection to the next request: each
request opens one (file, ``PRAGMA``s, ~30 SQL functions registered), about 1 ms of CPU, as
much as the rest of a bare view. This backend hands a request's connection back to a small
per-process pool when the request finishes, and the next request's thread takes it from
there. Threads that live on (Channels' database thread, ``DATABASE_THREADS``) keep theirs
as ``CONN_MAX_AGE`` says, as before.

    DATABASES = {"default": {"ENGINE": "chatwidget.backends.sqlite3", "NAME": ...}}

A connection is pooled only when nothing is pending on it (no transaction, no error since
it was opened); an in-memory database is never pooled (closing it would destroy it).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from django.core.signals import request_finished
from django.db import connections
from django.db.backends.sqlite3 import base

# Idle connections kept per database file; more threads than that simply open their own.
POOL_SIZE = 8


class Pool:
    """Idle raw connections of one database file (and one set of options)."""

    def __init__(self) -> None:
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self.opened = 0  # real connections made, for the bench and the tests

    def take(self) -> sqlite3.Connection | None:
        with self._lock:
            if self._pid != os.getpid():
                # A forked worker: SQLite connections must not cross a fork; the parent's
                # are left to the parent.
                self._idle, self._pid = [], os.getpid()
            return self._idle.pop() if self._idle else None

    def give(self, connection: sqlite3.Connection) -> bool:
        with self._lock:
            if len(self._idle) < POOL_SIZE:
                self._idle.append(connection)
                return True
        return False

    def count_opened(self) -> None:
        with self._lock:
            self.opened += 1


_pools: dict[tuple[str, str], Pool] = {}
_pools_lock = threading.Lock()


def pool_for(settings_dict: dict[str, Any]) -> Pool:
    key = (str(settings_dict["NAME"]), repr(sorted(settings_dict.get("OPTIONS", {}).items())))
    with _pools_lock:
        return _pools.setdefault(key, Pool())


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> sqlite3.Connection:
        if not self.is_in_memory_db():
            pooled = pool_for(self.settings_dict).take()
            if pooled is not None:
                return pooled
        connection = super().get_new_connection(conn_params)
        pool_for(self.settings_dict).count_opened()
        return connection

    def _close(self) -> None:
        connection = self.connection
        if (connection is not None and not self.is_in_memory_db()
                and not self.in_atomic_block and not self.errors_occurred
                and not connection.in_transaction
                and pool_for(self.settings_dict).give(connection)):
            return
        super()._close()

    def release(self) -> None:
        """Give the connection back to the pool now (its thread is about to end)."""
        if self.connection is not None and not self.in_atomic_block:
            self.close()


def release_request_connections(**kwargs: Any) -> None:
    # Runs on the request's own thread (Django closes the response there), the one whose
    # connection would otherwise be dropped with the thread.
    for connection in connections.all(initialized_only=True):
        if isinstance(connection, DatabaseWrapper):
            connection.release()


request_finished.connect(release_request_connections,
                         dispatch_uid="chatwidget.backends.sqlite3")


def connections_opened() -> int:
    """Real connections this process has opened so far (pooled reuses not counted)."""
    with _pools_lock:
        return sum(pool.opened for pool in _pools.values())
