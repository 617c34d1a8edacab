"""The pooling SQLite backend: a request's connection outlives the request's thread.

Django's ASGI handler runs every request on a new thread and keeps connections per thread,
so without the pool each page view opens (and drops) a connection. The end-to-end figure,
no connection opened per ping or identify under the real ASGI handler, is asserted in
tests/bench/test_http_cpu.py; these pin the pool's rules with real threads and a real file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db.utils import ConnectionHandler

from chatwidget.backends.sqlite3 import base


@pytest.fixture
def database(tmp_path, django_db_blocker) -> Iterator[ConnectionHandler]:
    """A file database of its own (an in-memory one is never pooled), not the test one."""
    with django_db_blocker.unblock():
        yield ConnectionHandler({"default": {"ENGINE": "chatwidget.backends.sqlite3",
                                             "NAME": str(tmp_path / "pool.sqlite3")}})


def on_a_new_thread(work: Any) -> Any:
    """Run ``work`` on a thread that then ends, as an ASGI request's thread does."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join()
    return result[0]


def opened(database: ConnectionHandler) -> int:
    return base.pool_for(database["default"].settings_dict).opened


def test_the_next_threads_request_reuses_the_connection_the_last_one_closed(database):
    def request(statement: str) -> Any:
        connection = database["default"]
        with connection.cursor() as cursor:
            cursor.execute(statement)
            rows = cursor.fetchall()
        raw = connection.connection
        connection.close()
        return raw, rows

    first, _ = on_a_new_thread(lambda: request("CREATE TABLE seen (n integer)"))
    second, rows = on_a_new_thread(lambda: request("SELECT count(*) FROM seen"))

    assert second is first
    assert rows == [(0,)]
    assert opened(database) == 1


def test_a_connection_closed_inside_a_transaction_is_never_handed_on(database):
    def abandon_a_transaction() -> Any:
        connection = database["default"]
        connection.ensure_connection()
        connection.connection.execute("BEGIN")
        connection.connection.execute("CREATE TABLE half (n integer)")
        raw = connection.connection
        connection.close()
        return raw

    def fresh() -> Any:
        connection = database["default"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half'")
            return connection.connection, cursor.fetchone()[0], connection.connection.in_transaction

    abandoned = on_a_new_thread(abandon_a_transaction)
    raw, tables, in_transaction = on_a_new_thread(fresh)

    assert raw is not abandoned
    assert (tables, in_transaction) == (0, False)  # the half-done work was not committed
    assert opened(database) == 2


def test_the_pool_keeps_only_a_few_idle_connections(database, monkeypatch):
    monkeypatch.setattr(base, "POOL_SIZE", 2)
    connections = []
    for _ in range(3):  # three requests at once: three connections
        connection = on_a_new_thread(lambda: database["default"])
        connection.inc_thread_sharing()  # closed below from this thread, as a test may
        connection.ensure_connection()
        connections.append(connection)
    for connection in connections:
        connection.close()

    assert len(base.pool_for(connections[0].settings_dict)._idle) == 2
    assert connections[2].connection is None


def test_a_forked_worker_never_takes_its_parents_connections(database, monkeypatch):
    def request() -> Any:
        connection = database["default"]
        connection.ensure_connection()
        raw = connection.connection
        connection.close()
        return raw

    parents = on_a_new_thread(request)
    monkeypatch.setattr(base.os, "getpid", lambda: -1)  # as seen from the forked child

    assert on_a_new_thread(request) is not parents
    assert opened(database) == 2
