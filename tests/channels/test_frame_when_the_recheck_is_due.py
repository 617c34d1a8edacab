"""A frame that arrives when the socket's credential re-check is due is answered after
that re-check passes: the re-check guards the frame, it never swallows it."""

from __future__ import annotations

import pytest

from . import sockets
from .sockets import receive, send

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_message_sent_as_the_recheck_falls_due_is_still_delivered(browser, clock):
    tab = await sockets.visitor(browser.raw)
    await clock.sleeping()
    # The period has passed but the timer has not had its turn yet (a busy worker): the
    # frame itself triggers the re-check.
    clock.now += 30

    await send(tab, type="message.send", conversationId=browser.conversation.pk,
               body="still there?", clientId="due-1")

    frames = [await receive(tab)]
    while frames[-1]["type"] != "message.ack":
        frames.append(await receive(tab))
    assert frames[-1]["message"]["body"] == "still there?"
    await tab.disconnect()
