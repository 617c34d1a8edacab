"""An in-memory channel layer for the embedded, single-process default.

Channels' ``InMemoryChannelLayer`` sweeps every channel and every group membership for
expired entries on each ``receive`` and ``group_send``: with a few hundred open sockets
that sweep is most of the server's time (bench/README.md shows it). Expiry is counted in
seconds (``expiry`` 60 s, ``group_expiry`` a day), so sweeping at most once per
``clean_interval`` keeps the same semantics at a cost that no longer grows with the
number of sockets per delivery.
"""

from __future__ import annotations

import time
from typing import Any

from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    def __init__(self, *args: Any, clean_interval: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clean_interval = clean_interval
        self._cleaned_at = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._cleaned_at < self.clean_interval:
            return
        self._cleaned_at = now
        super()._clean_expired()

    async def flush(self) -> None:
        await super().flush()
        self._cleaned_at = 0.0
