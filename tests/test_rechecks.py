"""Sockets that fall due together are re-checked a few at a time, not all at once: each
re-check is a trip to the database thread every socket's messages also take, so a burst
queued at once held every message behind it for as long as the whole burst took."""

from __future__ import annotations

import asyncio

from chatwidget.consumers import rechecks


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        await asyncio.Event().wait()  # the test ends before the next period


async def test_a_burst_of_due_sockets_is_rechecked_a_few_at_a_time_and_all_of_them():
    clock = Clock()
    timer = rechecks.Rechecks(clock)
    running, peak, checked = 0, 0, []
    all_checked = asyncio.Event()

    class Socket:
        def __init__(self, fails: bool) -> None:
            self.fails = fails

        async def recheck(self) -> bool:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            for _ in range(3):  # a trip to the database thread and back
                await asyncio.sleep(0)
            running -= 1
            checked.append(self)
            if len(checked) == len(sockets):
                all_checked.set()
            if self.fails:
                raise RuntimeError("the database went away")
            return True

    # Every tenth re-check fails: the others still run.
    sockets = [Socket(fails=index % 10 == 0) for index in range(50)]
    for socket in sockets:
        timer.add(socket)
    clock.now += 30  # the whole burst falls due at once

    timer.task.cancel()  # asleep until the first due: start again at the new time
    timer.task = asyncio.ensure_future(timer.run())
    await asyncio.wait_for(all_checked.wait(), timeout=10)
    timer.task.cancel()

    assert sorted(map(id, checked)) == sorted(map(id, sockets))
    assert peak == rechecks.IN_FLIGHT
