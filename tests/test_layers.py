"""The embedded channel layer still expires what Channels' layer expires."""

import asyncio

from chatwidget.layers import InMemoryChannelLayer


async def test_expired_messages_are_still_dropped_once_the_sweep_runs():
    layer = InMemoryChannelLayer(expiry=0.05, clean_interval=0.05)
    await layer.group_add("agents.1", "agent-socket")
    await layer.send("stale", {"type": "x"})
    await asyncio.sleep(0.1)

    await layer.group_send("agents.1", {"type": "chatwidget.event"})

    assert "stale" not in layer.channels


async def test_group_sends_still_reach_every_member():
    layer = InMemoryChannelLayer()
    for name in ("tab-1", "tab-2"):
        await layer.group_add("contact.7", name)

    await layer.group_send("contact.7", {"type": "chatwidget.event", "event": "logout"})

    assert (await layer.receive("tab-1"))["event"] == "logout"
    assert (await layer.receive("tab-2"))["event"] == "logout"
