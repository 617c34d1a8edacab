"""Database look-ups that many sockets ask for at once, made in one trip for all of them.

Every query of a socket runs on the one thread ``database_sync_to_async`` uses, so in a
connection storm the handshakes queue there one by one, each building and compiling the
same ORM query. A :class:`Batched` look-up takes every key asked while its previous trip
was running and fetches them together on the next one: one query for a whole burst of
handshakes, and no wait at all for a socket that opens alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Any

from ..dbthreads import database_sync_to_async


class Batched:
    """``await batched.get(key)``: ``fetch(keys) -> {key: value}`` for many keys at once.

    A key asked twice in one burst (two tabs of one browser) is fetched once per asker, in
    successive trips, so no two sockets share the instances a fetch returns.
    """

    def __init__(self, fetch: Callable[[list[Any]], dict[Any, Any]]) -> None:
        self.fetch = database_sync_to_async(fetch)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiting: dict[Hashable, list[asyncio.Future[Any]]] = {}
        self.task: asyncio.Task[None] | None = None

    async def get(self, key: Hashable) -> Any:
        loop = asyncio.get_running_loop()
        if self.loop is not loop:  # a test's new loop: nothing of the old one carries over
            self.loop, self.waiting, self.task = loop, {}, None
        future = loop.create_future()
        self.waiting.setdefault(key, []).append(future)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self.drain())
        return await future

    async def drain(self) -> None:
        while self.waiting:
            batch = {}
            for key, futures in list(self.waiting.items()):
                batch[key] = futures.pop(0)
                if not futures:
                    del self.waiting[key]
            try:
                found = await self.fetch(list(batch))
            except Exception as error:
                for future in batch.values():
                    if not future.done():  # its socket may have gone meanwhile
                        future.set_exception(error)
                continue
            for key, future in batch.items():
                if not future.done():
                    future.set_result(found.get(key))
