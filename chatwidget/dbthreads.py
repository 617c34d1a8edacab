"""Where the sockets' database work runs, so it never serialises the whole event loop.

Channels' ``database_sync_to_async`` is thread-sensitive: every call of every socket of a
process runs on one thread, one after another. On SQLite that is right (one writer at a
time; WAL, which the demo settings turn on, lets the readers of other connections go on
meanwhile), but on PostgreSQL each socket's queries wait behind every other socket's,
network round trips included, while the server's core idles. There the consumers' calls run
on a pool of ``DATABASE_THREADS`` threads instead, each with its own persistent connection
(so a worker process opens up to that many connections more; docs/deploy.md).

Use :func:`database_sync_to_async` from here instead of Channels' for consumer methods.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import DatabaseSyncToAsync
from django.db import connections

from . import conf

# One pool per size, so a changed setting (tests) never resizes a pool in use.
_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def executor() -> ThreadPoolExecutor | None:
    """The process's pool, or None where calls belong on Channels' one database thread."""
    return pool_for(connections["default"].vendor, conf.get("DATABASE_THREADS"))


def pool_for(vendor: str, threads: int) -> ThreadPoolExecutor | None:
    if threads <= 1 or vendor == "sqlite":
        return None
    pool = _pools.get(threads)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(threads)
            if pool is None:
                pool = _pools[threads] = ThreadPoolExecutor(
                    max_workers=threads, thread_name_prefix="chatwidget-db")
    return pool


class DatabaseWork(DatabaseSyncToAsync):
    """Channels' wrapper (old connections closed around each call), placed per call.

    The placement is decided when called, not when the consumer class is defined, because
    the database and the setting are only known once Django's settings are loaded.
    """

    def __init__(self, func: Callable[..., Any]) -> None:
        super().__init__(func, thread_sensitive=True)

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        pool = executor()
        # The same answer for every call of a process, so sharing the instance is safe.
        self._thread_sensitive = pool is None
        self._executor = pool
        return await super().__call__(*args, **kwargs)


def database_sync_to_async(func: Callable[..., Any]) -> DatabaseWork:
    return DatabaseWork(func)
