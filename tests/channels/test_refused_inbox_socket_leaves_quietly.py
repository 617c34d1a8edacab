"""A socket refused at the agents' door (no session, not an agent) was never an agent
online: when its browser goes away it announces no presence change and breaks nothing
for the agents who are online."""

from __future__ import annotations

import pytest

from chatwidget.consumers.base import CloseCode

from . import sockets
from .sockets import closed_with, silent

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_refused_inbox_socket_goes_away_without_a_presence_change(agent_cookies):
    inbox = await sockets.agent(agent_cookies)
    stranger = sockets.communicator("/ws/chatwidget/agent/")
    connected, _ = await stranger.connect(timeout=sockets.TIMEOUT)
    assert connected
    assert await closed_with(stranger) == CloseCode.UNAUTHENTICATED

    await stranger.disconnect(timeout=sockets.TIMEOUT)  # raises if the server's side did

    assert await silent(inbox)
    await inbox.disconnect()
