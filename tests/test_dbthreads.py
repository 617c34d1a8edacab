"""Where the sockets' database work runs: one thread on SQLite (one writer), a pool of
DATABASE_THREADS on PostgreSQL, so one socket's queries never wait behind all others'."""

from __future__ import annotations

import asyncio
import threading

import pytest

from chatwidget.dbthreads import database_sync_to_async, pool_for


async def test_on_sqlite_every_sockets_database_work_runs_on_one_thread(db):
    threads: set[int] = set()

    @database_sync_to_async
    def work() -> None:
        threads.add(threading.get_ident())

    await asyncio.gather(*(work() for _ in range(8)))

    assert len(threads) == 1


@pytest.mark.parametrize(("vendor", "threads"), [("sqlite", 4), ("postgresql", 1)])
def test_sqlite_or_a_single_thread_keeps_channels_database_thread(vendor, threads):
    assert pool_for(vendor, threads) is None


def test_on_postgresql_database_work_of_several_sockets_runs_at_once():
    pool = pool_for("postgresql", 3)
    # Each call waits for the other two: only three threads at once get all three through.
    everyone = threading.Barrier(3, timeout=30)

    results = list(pool.map(lambda _: everyone.wait() is not None, range(3)))

    assert results == [True, True, True]
    assert pool_for("postgresql", 3) is pool  # one pool per process and size
