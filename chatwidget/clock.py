"""The time source of the sockets' periodic re-checks, replaceable in tests.

A re-check period of 30 s must be testable without waiting 30 s or setting it to 0 (which
would test nothing about the period): tests install a clock they advance by hand.
"""

from __future__ import annotations

import asyncio
import time


class Clock:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


clock = Clock()
