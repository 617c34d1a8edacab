"""A socket re-checks its credential once a period, not on every frame: a chatting
visitor costs the database the re-check's queries twice a minute, not per keystroke.
A frame arriving when the re-check is due is answered after it passes: the re-check
guards the frame, it never swallows it."""

from __future__ import annotations

import pytest

from chatwidget.consumers.visitor import VisitorConsumer

from . import sockets
from .sockets import receive, send

pytestmark = pytest.mark.django_db(transaction=True)


async def test_frames_within_the_period_do_not_recheck_and_one_after_it_does(
    browser, clock, monkeypatch
):
    rechecks = []
    original = VisitorConsumer.revalidate

    async def revalidate(self):
        rechecks.append(clock.now)
        return await original(self)

    monkeypatch.setattr(VisitorConsumer, "revalidate", revalidate)
    tab = await sockets.visitor(browser.raw)
    await clock.sleeping()

    for _ in range(3):
        await send(tab, type="ping")
        assert (await receive(tab))["type"] == "pong"
        clock.now += 9  # 27 s in all: still within the 30 s period
    assert rechecks == []

    clock.now += 3  # the timer has not had its turn; the frame re-checks
    await send(tab, type="ping")
    assert (await receive(tab))["type"] == "pong"
    assert rechecks == [clock.now]
    await tab.disconnect()
