"""channels_redis' pub/sub layer, told when Redis may have dropped messages.

Redis pub/sub delivers at most once: whatever is published while a worker's subscriber
connection is down (Redis restarted, a network blip) never reaches that worker, and
channels_redis reconnects and re-subscribes without telling anyone. redis-py calls a
connection's *connect callbacks* on every reconnect (its own ``PubSub.on_connect``
re-subscribes there); this layer registers one more on each shard's subscriber
connection and queues :data:`chatwidget.layers.RESYNC` for every channel of the worker
whose consumer asked for it (``watch_for_loss``), after the re-subscription and before
anything received on the new connection. Each consumer then tells its client to resume
from the database (docs/protocol.md).

It also keeps a handshake from failing with a 500 when Redis is unreachable or just came
back: Channels subscribes a socket's own channel before the handshake, outside any
consumer code. A failed subscribe is retried once (the first attempt on a stale
connection fails, the retry reconnects); if Redis is still away the channel is left
unsubscribed, and the consumer's ``group_add`` (which retries the subscription) fails and
closes the socket with 1013 (try again).

Use it as ``"BACKEND": "chatwidget.redis_layer.RedisPubSubChannelLayer"`` with the same
``CONFIG`` as channels_redis' (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from channels_redis import pubsub
from channels_redis.utils import _wrap_close
from redis.exceptions import RedisError

from .layers import RESYNC

logger = logging.getLogger("chatwidget.layers")

T = TypeVar("T")
# What an unreachable or restarted Redis raises through redis-py.
UNAVAILABLE = (RedisError, OSError, asyncio.TimeoutError)
# Also retried: a subscribe that meets the subscriber connection while channels_redis'
# receive loop is reconnecting it fails with redis-py's "readuntil() called while another
# coroutine is already waiting for incoming data" (RuntimeError).
RETRIED = (*UNAVAILABLE, RuntimeError)


async def _retry_once(call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except RETRIED:
        # redis-py dropped the dead connection while failing; the retry opens a new one.
        return await call()


class ShardConnection(pubsub.RedisSingleShardConnection):
    """One Redis host: retried commands, and a resync for every reconnect."""

    def __init__(self, host: Any, channel_layer: Any) -> None:
        super().__init__(host, channel_layer)
        self._subscriber: Any = None

    async def publish(self, channel: str, message: bytes) -> None:
        await _retry_once(lambda: super(ShardConnection, self).publish(channel, message))

    async def subscribe(self, channel: str) -> None:
        await _retry_once(lambda: super(ShardConnection, self).subscribe(channel))
        self._watch()

    def _watch(self) -> None:
        """Hear every reconnect of the subscriber connection (a new one after ``flush``)."""
        connection = getattr(self._pubsub, "connection", None)
        if connection is not None and connection is not self._subscriber:
            connection.register_connect_callback(self._reconnected)
            self._subscriber = connection

    def _reconnected(self, connection: Any) -> None:
        # Registered after the first connect, so every call is a reconnect.
        logger.warning("chatwidget: the Redis subscriber reconnected; every socket of "
                       "this worker resyncs")
        self.channel_layer.resync_all()


class RedisPubSubLoopLayer(pubsub.RedisPubSubLoopLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shards = [ShardConnection(shard.host, self) for shard in self._shards]
        self.watched: set[str] = set()

    def watch_for_loss(self, channel: str) -> None:
        self.watched.add(channel)

    def stop_watching(self, channel: str) -> None:
        self.watched.discard(channel)

    async def new_channel(self, prefix: str = "specific.") -> str:
        channel = f"{self.prefix}{prefix}{uuid.uuid4().hex}"
        try:
            await self._subscribe_to_channel(channel)
        except RETRIED:
            # Raising here would fail the handshake with a 500 before any consumer code
            # runs; group_add retries the subscription and the consumer closes with 1013.
            logger.warning("chatwidget: Redis unavailable for a new socket's channel",
                           exc_info=True)
        return channel

    async def group_add(self, group: str, channel: str) -> None:
        if channel in self.channels:  # a no-op once subscribed; see new_channel
            await self._get_shard(channel).subscribe(channel)
        await super().group_add(group, channel)

    def resync_all(self) -> None:
        """Queue a resync for every channel of this worker (see the module docstring)."""
        message = self.channel_layer.serialize(RESYNC)
        for channel in self.watched:
            queue = self.channels.get(channel)
            if queue is not None:
                queue.put_nowait(message)


class RedisPubSubChannelLayer(pubsub.RedisPubSubChannelLayer):
    """channels_redis' ``RedisPubSubChannelLayer`` with the loop layer above."""

    def _get_layer(self) -> RedisPubSubLoopLayer:
        # channels_redis' own method with our loop layer; _wrap_close is its helper that
        # closes a loop's layer with the loop.
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = RedisPubSubLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
        return layer
