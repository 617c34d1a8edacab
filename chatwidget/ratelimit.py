"""Sliding-window rate limits for socket frames, shared by every socket of one process.

Counting per contact (not per socket) is what stops a visitor from multiplying the limit
by opening more tabs. The counters live in process memory, so with N ASGI workers a
contact whose tabs land on different workers gets up to N times the limit; the limit
guards the server against floods, it is not a billing quota (docs/protocol.md).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Hashable


class SlidingWindow:
    """At most ``limit`` hits per ``window`` seconds per key.

    Single-threaded by design: consumers run on the process's one event loop.
    """

    def __init__(self) -> None:
        self._hits: dict[Hashable, deque[float]] = {}
        self._calls = 0

    def hit(self, key: Hashable, limit: int, window: float,
            now: float | None = None) -> float | None:
        """Record a hit; None when allowed, else the seconds until the next one would be."""
        now = time.monotonic() if now is None else now
        self._calls += 1
        if self._calls % 1000 == 0:
            self._sweep(now, window)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return max(hits[0] + window - now, 0.0)
        hits.append(now)
        return None

    def _sweep(self, now: float, window: float) -> None:
        """Forget keys that have been quiet for a whole window, so memory stays bounded."""
        stale = [key for key, hits in self._hits.items() if not hits or hits[-1] <= now - window]
        for key in stale:
            del self._hits[key]

    def reset(self) -> None:
        self._hits.clear()


# One per process: every consumer of the process counts against the same windows.
frames = SlidingWindow()
