"""chatwidget.socket_auth.AuthMiddlewareStack gives a socket what Channels' stack gives it."""

from __future__ import annotations

from typing import Any

import pytest
from channels.sessions import SessionMiddlewareStack
from channels.testing import WebsocketCommunicator

from chatwidget.socket_auth import AuthMiddlewareStack

from .sockets import TIMEOUT

pytestmark = pytest.mark.django_db(transaction=True)


class Recorder:
    """An application that accepts the socket and keeps the scope it was given."""

    def __init__(self) -> None:
        self.scope: dict[str, Any] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scope = scope
        await receive()
        await send({"type": "websocket.accept"})
        await receive()


async def opened_with(application: Any, cookie: str | None) -> None:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    socket = WebsocketCommunicator(application, "/ws/x/", headers=headers)
    connected, _ = await socket.connect(timeout=TIMEOUT)
    assert connected
    await socket.disconnect()


async def test_a_socket_with_a_site_session_is_that_user_and_sees_its_cookies(agent_cookies, agent):
    recorder = Recorder()
    await opened_with(AuthMiddlewareStack(recorder),
                      f"sessionid={agent_cookies['sessionid']}; chatwidget=abc")

    assert recorder.scope["user"].pk == agent.pk
    assert recorder.scope["session"].session_key == agent_cookies["sessionid"]
    assert recorder.scope["cookies"] == {"sessionid": agent_cookies["sessionid"],
                                         "chatwidget": "abc"}


async def test_a_socket_without_a_site_session_is_anonymous():
    recorder = Recorder()
    await opened_with(AuthMiddlewareStack(recorder), "chatwidget=abc")

    assert recorder.scope["user"].is_anonymous
    assert recorder.scope["session"].session_key is None
    assert recorder.scope["cookies"] == {"chatwidget": "abc"}


async def test_under_another_session_middleware_the_socket_keeps_that_session(agent_cookies,
                                                                             agent):
    recorder = Recorder()
    await opened_with(SessionMiddlewareStack(AuthMiddlewareStack(recorder)),
                      f"sessionid={agent_cookies['sessionid']}")

    assert recorder.scope["user"].pk == agent.pk
    assert recorder.scope["session"].session_key == agent_cookies["sessionid"]
