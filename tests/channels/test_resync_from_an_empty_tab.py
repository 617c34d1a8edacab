"""A tab that has delivered nothing yet still gets back the very first message a layer
reconnect lost: its ``resync`` names the point it resumed from, never an id it never saw.

The SDK also resumes from the lower of ``after`` and its own last id; this tests the
server's half alone, as any client following docs/protocol.md would rely on it.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from chatwidget import chat, events
from chatwidget.layers import RESYNC

from . import sockets
from .sockets import receive, send

# Message ids from 1, as on a new site: the first message lost is message 1.
pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)


async def test_a_new_tab_told_to_resync_recovers_the_first_message_ever_lost(browser, agent):
    # The SDK's first connection: nothing held yet, so ?after=0 and an empty replay.
    tab = await sockets.visitor(browser.raw, path="/ws/chatwidget/?after=0")
    assert await receive(tab) == {"type": "resume.done", "lastId": 0, "more": False}

    # The agent's first reply commits while the layer is down: its event never arrives.
    result = await sync_to_async(chat.post_agent_message)(agent, browser.conversation, "hi")
    assert result.message.pk == 1
    # The layer reconnects without knowing what it lost (as the Redis layer does).
    layer = get_channel_layer()
    (channel,) = layer.watched
    await layer.send(channel, dict(RESYNC))

    resync = await receive(tab)
    assert resync == {"type": events.RESYNC, "after": 0}
    await send(tab, type="resume", after=resync["after"])
    replayed = await receive(tab)
    assert replayed["type"] == events.MESSAGE_CREATED
    assert replayed["message"]["id"] == result.message.pk
    assert replayed["message"]["body"] == "hi"
    assert await receive(tab) == {"type": "resume.done", "lastId": 1, "more": False}
    await tab.disconnect()
