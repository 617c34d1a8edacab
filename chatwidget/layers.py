"""An in-memory channel layer for the embedded, single-process default.

Channels' ``InMemoryChannelLayer`` sweeps every channel and every group membership for
expired entries on each ``receive`` and ``group_send``: with a few hundred open sockets
that sweep is most of the server's time (bench/README.md shows it). Expiry is counted in
seconds (``expiry`` 60 s, ``group_expiry`` a day), so sweeping at most once per
``clean_interval`` keeps the same semantics at a cost that no longer grows with the
number of sockets per delivery.

Channels drops a group message silently when a member's channel is full (``capacity``,
100 by default): a socket that falls behind under load would never learn it missed
anything. This layer remembers which channels overflowed and hands each of them a
:data:`RESYNC` message on its next ``receive``; the consumers turn it into the ``resync``
frame that makes the client resume from the database (docs/protocol.md). Only channels
whose consumer asked for it (:meth:`InMemoryChannelLayer.watch_for_loss`) get one: a
site's own consumers have no handler for that message type.

Channels keeps an ``asyncio.Queue`` per channel while its consumer waits in ``receive``:
about 3.5 KB (three deques and an event) for every open socket, all idle ones included,
and each ``send`` and ``receive`` builds a spare queue for ``setdefault``. Here a consumer
that waits on an empty channel waits on a bare future, which a ``send`` resolves with the
message directly; a queue exists only while messages wait for a busy consumer (then
Channels' own code, capacity and expiry included, handles it as before).
"""

from __future__ import annotations

import asyncio
import time
from copy import deepcopy
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer

# The layer message that tells a consumer its socket may have missed events (consumers
# handle it in ``chatwidget_resync``). Both chatwidget layers deliver it. The in-memory
# layer adds ``lostFrom``, the lowest message id it dropped, when it knows it.
RESYNC_TYPE = "chatwidget.resync"
RESYNC: dict[str, Any] = {"type": RESYNC_TYPE}


def message_id(message: dict[str, Any]) -> int | None:
    """The id of the chat message a layer message carries (``message.created``), if any.

    ``events.Event.layer_message`` puts it beside the encoded frame, so nobody decodes it.
    """
    value = message.get("messageId")
    return value if isinstance(value, int) else None


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    def __init__(self, *args: Any, clean_interval: float = 1.0, capacity: int = 1000,
                 **kwargs: Any) -> None:
        # Channels' default capacity, 100, is under half a second of a busy agent socket's
        # traffic: a moment's lag would cost a resync, whose replay is database work added
        # just when the server is behind. A queued event is one encoded string.
        super().__init__(*args, capacity=capacity, **kwargs)
        self.clean_interval = clean_interval
        self._cleaned_at = 0.0
        # Channels whose consumer handles RESYNC, and those of them that lost a message
        # since they last received, with the lowest message id lost (see the module
        # docstring).
        self.watched: set[str] = set()
        self.overflowed: dict[str, int | None] = {}
        # The consumer waiting on each empty channel (module docstring).
        self.waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def watch_for_loss(self, channel: str) -> None:
        self.watched.add(channel)

    def stop_watching(self, channel: str) -> None:
        self.watched.discard(channel)
        self.overflowed.pop(channel, None)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        waiter = self.waiters.get(channel)
        if waiter is not None and not waiter.done() and channel not in self.channels:
            assert isinstance(message, dict), "message is not a dict"
            self.require_valid_channel_name(channel)
            del self.waiters[channel]
            waiter.set_result(deepcopy(message))  # Channels' copy: the sender keeps its own
            return
        # group_send calls this for every member and swallows ChannelFull: note it here.
        try:
            await super().send(channel, message)
        except ChannelFull:
            if channel in self.watched:
                # Publishers are concurrent: a message can be dropped after a newer one
                # was delivered, so the resync must reach below the lowest id lost.
                lost = [i for i in (self.overflowed.get(channel), message_id(message))
                        if i is not None]
                self.overflowed[channel] = min(lost) if lost else None
            raise

    async def receive(self, channel: str) -> dict[str, Any]:
        # Before the queued messages: the client resumes from the last one it holds, so
        # what is still queued arrives twice at worst (clients de-duplicate by id).
        if channel in self.overflowed:
            lost_from = self.overflowed.pop(channel)
            return {**RESYNC, "lostFrom": lost_from} if lost_from is not None else dict(RESYNC)
        if channel in self.channels or channel in self.waiters:
            # Messages are queued (or, unusually, a second receiver): Channels' queue.
            return await super().receive(channel)
        self.require_valid_channel_name(channel)
        self._clean_expired()
        waiter = self.waiters[channel] = asyncio.get_running_loop().create_future()
        try:
            return await waiter
        finally:
            if self.waiters.get(channel) is waiter:  # cancelled: the socket closed
                del self.waiters[channel]

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._cleaned_at < self.clean_interval:
            return
        self._cleaned_at = now
        super()._clean_expired()

    async def flush(self) -> None:
        await super().flush()
        self._cleaned_at = 0.0
        self.watched = set()
        self.overflowed = {}
        self.waiters = {}
