"""chatwidget's Redis pub/sub layer against a real redis-server that restarts."""

from __future__ import annotations

import asyncio

from chatwidget.layers import RESYNC
from chatwidget.redis_layer import RedisPubSubChannelLayer

TIMEOUT = 30


async def test_a_reconnect_resyncs_the_watched_channels_and_no_other(redis):
    layer = RedisPubSubChannelLayer(hosts=[redis.url])
    tab = await layer.new_channel()
    site_consumer = await layer.new_channel()  # a site's own consumer: no resync handler
    layer.watch_for_loss(tab)
    await layer.group_add("contact.1", tab)
    await layer.group_add("news", site_consumer)
    try:
        redis.stop()
        redis.start()

        assert await asyncio.wait_for(layer.receive(tab), TIMEOUT) == RESYNC
        # Re-subscribed by then; the other channel's first message is a real one.
        await layer.group_send("news", {"type": "news.item"})
        await layer.group_send("contact.1", {"type": "chatwidget.event"})
        assert await asyncio.wait_for(layer.receive(site_consumer), TIMEOUT) == {
            "type": "news.item"}
        assert await asyncio.wait_for(layer.receive(tab), TIMEOUT) == {
            "type": "chatwidget.event"}
    finally:
        await layer.flush()


async def test_a_new_channel_while_redis_is_down_fails_only_when_it_joins_a_group(redis):
    layer = RedisPubSubChannelLayer(hosts=[redis.url])
    first = await layer.new_channel()
    await layer.group_add("contact.1", first)
    try:
        redis.stop()
        try:
            channel = await layer.new_channel()  # Channels calls this before the handshake
            failed = None
            try:
                await layer.group_add("contact.2", channel)
            except Exception as error:  # the consumer closes with 1013
                failed = error
            assert failed is not None
        finally:
            redis.start()
        await layer.group_add("contact.2", channel)  # works again once Redis is back
    finally:
        await layer.flush()
