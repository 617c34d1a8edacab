"""The embedded channel layer still expires what Channels' layer expires."""

import asyncio

from chatwidget.layers import RESYNC, InMemoryChannelLayer


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


async def overflowed_tab(capacity: int) -> InMemoryChannelLayer:
    """A layer whose watched channel "tab" got one group message more than it holds."""
    layer = InMemoryChannelLayer(capacity=capacity)
    layer.watch_for_loss("tab")
    await layer.group_add("contact.7", "tab")
    for n in range(capacity + 1):
        await layer.group_send("contact.7", {"type": "chatwidget.event", "n": n})
    return layer


async def test_a_watched_channel_that_overflowed_is_told_to_resync_before_its_backlog():
    layer = await overflowed_tab(capacity=2)

    assert await layer.receive("tab") == RESYNC
    assert [(await layer.receive("tab"))["n"] for _ in range(2)] == [0, 1]
    assert "tab" not in layer.overflowed  # told once


async def test_a_channel_nobody_watches_never_gets_a_message_it_cannot_handle():
    # A site's own consumer on the same layer has no chatwidget_resync handler.
    layer = InMemoryChannelLayer(capacity=1)
    await layer.group_add("news", "site-consumer")
    for n in range(2):
        await layer.group_send("news", {"type": "news.item", "n": n})

    assert await layer.receive("site-consumer") == {"type": "news.item", "n": 0}
    assert not layer.overflowed


async def test_a_socket_that_stopped_watching_leaves_nothing_behind():
    layer = await overflowed_tab(capacity=1)

    layer.stop_watching("tab")

    assert not layer.watched and not layer.overflowed


async def test_the_resync_names_the_lowest_message_lost_even_after_newer_ones_queued():
    # Concurrent publishers: messages 11 and 10 are published after 12.
    layer = InMemoryChannelLayer(capacity=1)
    layer.watch_for_loss("tab")
    await layer.group_add("contact.7", "tab")
    for message_id in (12, 11, 10):
        await layer.group_send("contact.7", {"type": "chatwidget.event",
                                             "event": "message.created",
                                             "messageId": message_id})

    assert await layer.receive("tab") == {**RESYNC, "lostFrom": 10}


async def waiting_receiver(layer: InMemoryChannelLayer, channel: str) -> asyncio.Task:
    """A consumer blocked in ``receive`` on an empty channel (as every idle socket is)."""
    task = asyncio.ensure_future(layer.receive(channel))
    while channel not in layer.waiters:
        await asyncio.sleep(0)
    return task


async def test_an_idle_socket_keeps_no_queue_and_gets_what_is_sent_in_order():
    layer = InMemoryChannelLayer()
    receiving = await waiting_receiver(layer, "tab")
    assert "tab" not in layer.channels  # idle: no per-socket queue held

    sent = {"type": "chatwidget.event", "n": 0}
    await layer.send("tab", sent)
    for n in (1, 2):  # while the consumer is busy with the first: queued behind it
        await layer.send("tab", {"type": "chatwidget.event", "n": n})
    sent["n"] = 99  # the sender's later changes do not reach the receiver

    assert (await receiving)["n"] == 0
    assert [(await layer.receive("tab"))["n"] for _ in range(2)] == [1, 2]
    assert "tab" not in layer.channels and "tab" not in layer.waiters


async def test_a_socket_that_closed_while_waiting_leaves_nothing_behind():
    layer = InMemoryChannelLayer()
    receiving = await waiting_receiver(layer, "tab")

    receiving.cancel()
    await asyncio.gather(receiving, return_exceptions=True)

    assert "tab" not in layer.waiters
    # A channel name reused later still gets its messages.
    await layer.send("tab", {"type": "chatwidget.event", "n": 1})
    assert (await layer.receive("tab"))["n"] == 1


async def test_a_full_channel_still_overflows_into_a_resync_when_its_socket_was_idle():
    layer = InMemoryChannelLayer(capacity=1)
    layer.watch_for_loss("tab")
    await layer.group_add("contact.7", "tab")
    receiving = await waiting_receiver(layer, "tab")
    for n in range(3):  # one delivered at once, one queued, one over capacity
        await layer.group_send("contact.7", {"type": "chatwidget.event", "n": n})

    assert (await receiving)["n"] == 0
    assert await layer.receive("tab") == RESYNC
    assert (await layer.receive("tab"))["n"] == 1
