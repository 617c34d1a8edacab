"""Opening sockets against the real ASGI application, as a browser or the inbox would."""

from __future__ import annotations

import json
from typing import Any

from channels.testing import WebsocketCommunicator

from project.asgi import application

SITE_ORIGIN = "http://testserver"
# Generous: the suite shares two cores with other jobs.
TIMEOUT = 5


def communicator(path: str, *, cookies: dict[str, str] | None = None,
                 origin: str | None = SITE_ORIGIN) -> WebsocketCommunicator:
    headers = []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if cookies:
        headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def connect(path: str, **kwargs: Any) -> WebsocketCommunicator:
    """An accepted socket whose ``ready`` frame has been read."""
    socket = communicator(path, **kwargs)
    connected, code = await socket.connect(timeout=TIMEOUT)
    assert connected, f"refused with {code}"
    ready = await receive(socket)
    assert ready["type"] == "ready", ready
    socket.ready = ready
    return socket


async def visitor(raw: str, *, path: str = "/ws/chatwidget/",
                  cookies: dict[str, str] | None = None, **kwargs: Any) -> WebsocketCommunicator:
    return await connect(path, cookies={"chatwidget": raw, **(cookies or {})}, **kwargs)


async def agent(cookies: dict[str, str], *, path: str = "/ws/chatwidget/agent/",
                **kwargs: Any) -> WebsocketCommunicator:
    return await connect(path, cookies=cookies, **kwargs)


async def watch(socket: WebsocketCommunicator, *conversation_ids: int) -> None:
    """An agent socket shows these threads (their typing and read receipts come to it)."""
    await send(socket, type="watch", conversationIds=list(conversation_ids))
    assert await receive(socket) == {"type": "watching",
                                     "conversationIds": sorted(conversation_ids)}


async def receive(socket: WebsocketCommunicator) -> dict[str, Any]:
    return await socket.receive_json_from(timeout=TIMEOUT)


async def receive_types(socket: WebsocketCommunicator, count: int) -> list[dict[str, Any]]:
    return [await receive(socket) for _ in range(count)]


async def send(socket: WebsocketCommunicator, **frame: Any) -> None:
    await socket.send_to(text_data=json.dumps(frame))


async def closed_with(socket: WebsocketCommunicator) -> int | None:
    """The close code of the next output, which must be a close."""
    output = await socket.receive_output(timeout=TIMEOUT)
    assert output["type"] == "websocket.close", output
    return output.get("code")


async def silent(socket: WebsocketCommunicator, timeout: float = 0.2) -> bool:
    return await socket.receive_nothing(timeout=timeout)


async def refused(path: str, **kwargs: Any) -> int | None:
    """The handshake's refusal code; fails if the handshake is accepted."""
    socket = communicator(path, **kwargs)
    connected, code = await socket.connect(timeout=TIMEOUT)
    assert not connected, "the handshake was accepted"
    return code


async def accepted_then_closed(path: str, frames: list[dict[str, Any]] = (),
                               **kwargs: Any) -> int | None:
    """Accepted, sends ``frames``, and returns the code the server closes with."""
    socket = communicator(path, **kwargs)
    connected, code = await socket.connect(timeout=TIMEOUT)
    assert connected, f"refused with {code}"
    for frame in frames:
        await send(socket, **frame)
    return await closed_with(socket)
