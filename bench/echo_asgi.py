"""S1 (a bare Channels echo consumer) and the site, served by one ASGI server process.

The echo consumer sits in front of the site's router on its own path, without origin or
auth middleware: it is the floor any Channels consumer pays in this server. Serving it
from the same process as the app means S1 and S2 run under identical settings (channel
layer included), so their difference is the app's own cost.
"""

import os
from collections.abc import Awaitable, Callable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402

from project.asgi import application as site  # noqa: E402  (sets Django up first)

ECHO_PATH = "/ws/bench/echo/"


class EchoConsumer(AsyncWebsocketConsumer):
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data, bytes_data=bytes_data)


_echo = EchoConsumer.as_asgi()


async def application(scope: dict[str, Any], receive: Callable[[], Awaitable[Any]],
                      send: Callable[[Any], Awaitable[None]]) -> None:
    if scope["type"] == "websocket" and scope["path"] == ECHO_PATH:
        return await _echo(scope, receive, send)
    return await site(scope, receive, send)
