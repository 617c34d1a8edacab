"""One timer per event loop re-checks every open socket's credential, each on its own period.

Every socket must re-check its credential each ``REVALIDATE_INTERVAL`` even when passive
(no signal announces an expired session). A timer task per socket did that at about
1.7 KB a socket (the task, its coroutine, the sleep's future and timer handle) and a task
created in every handshake; here a socket is one entry in a dict. With one interval for
all sockets, the order entries are added in is the order they fall due, so the next due
is always the first entry: adding, re-arming and forgetting a socket cost O(1).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from .. import conf

logger = logging.getLogger("chatwidget.consumers")


class Clock(Protocol):
    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class Rechecked(Protocol):
    async def recheck(self) -> bool: ...


class Rechecks:
    """The sockets of one event loop, each due for a re-check at a time of ``clock``."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.due: dict[Rechecked, float] = {}
        self.task: asyncio.Task[None] | None = None
        # When the timer sleeps: until when (a socket due earlier must wake it).
        self.sleeping_until: float | None = None

    def add(self, socket: Rechecked) -> None:
        """(Re-)arm ``socket``: its next re-check is one period from now."""
        due = self.clock.monotonic() + conf.get("REVALIDATE_INTERVAL")
        self.due.pop(socket, None)
        if self.due and due < next(reversed(self.due.values())):
            # The interval was shortened while sockets were waiting: keep the order.
            self.due = dict(sorted([*self.due.items(), (socket, due)], key=lambda e: e[1]))
        else:
            self.due[socket] = due
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self.run())
        elif self.sleeping_until is not None and due < self.sleeping_until:
            # Only ever cancelled asleep, never during re-checks.
            self.task.cancel()
            self.sleeping_until = None
            self.task = asyncio.ensure_future(self.run())

    def forget(self, socket: Rechecked) -> None:
        self.due.pop(socket, None)

    async def run(self) -> None:
        while self.due:
            now = self.clock.monotonic()
            first_due = next(iter(self.due.values()))
            if first_due > now:
                self.sleeping_until = first_due
                await self.clock.sleep(first_due - now)
                self.sleeping_until = None
                continue
            batch = []
            for socket, due in list(self.due.items()):
                if due > now:
                    break
                batch.append(socket)
                self.add(socket)
            # One socket's failure must not stop the timer the others rely on.
            results = await _bounded(batch)
            for result in results:
                if isinstance(result, BaseException):
                    logger.warning("chatwidget: socket re-check failed", exc_info=result)


# Re-checks of one burst running at once. Sockets opened together (a deploy, a network blip)
# fall due together, and each re-check is a trip to the database thread the sockets share:
# queued all at once, they held every message behind them for as long as the whole burst
# took (hundreds of milliseconds for a few hundred sockets, every period). A few at a time,
# a message waits for at most these few.
IN_FLIGHT = 4


async def _bounded(batch: list[Rechecked]) -> list[Any]:
    """Each socket's re-check result, or the exception it raised."""
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def recheck(socket: Rechecked) -> bool:
        async with slots:
            return await socket.recheck()

    return await asyncio.gather(*(recheck(s) for s in batch), return_exceptions=True)


_current: tuple[asyncio.AbstractEventLoop, Rechecks] | None = None


def for_loop(clock: Clock) -> Rechecks:
    """The running loop's timer (a test's loop, and the clock it installed, get their own)."""
    global _current
    loop = asyncio.get_running_loop()
    if _current is None or _current[0] is not loop or _current[1].clock is not clock:
        _current = (loop, Rechecks(clock))
    return _current[1]


def start(socket: Any) -> None:
    """Re-check ``socket`` every period, on its consumer class's clock, until :func:`stop`."""
    for_loop(socket.clock).add(socket)


def stop(socket: Any) -> None:
    if _current is not None:
        _current[1].forget(socket)
