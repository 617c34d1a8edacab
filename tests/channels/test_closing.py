"""A socket that closes does no database work: a network blip that closes thousands of
sockets at once must not queue thousands of trips to the database thread ahead of the
next message's write (chatwidget.consumers.base, ``websocket_disconnect``)."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer
from django.db.backends.base.base import BaseDatabaseWrapper

from . import sockets

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def connection_checks(monkeypatch) -> list[str]:
    """Every check of a database connection for staleness, wherever it runs: what closing
    old connections around any piece of database work does first."""
    checks: list[str] = []
    original = BaseDatabaseWrapper.close_if_unusable_or_obsolete

    def close_if_unusable_or_obsolete(self):
        checks.append(self.alias)
        return original(self)

    monkeypatch.setattr(BaseDatabaseWrapper, "close_if_unusable_or_obsolete",
                        close_if_unusable_or_obsolete)
    return checks


def memberships() -> int:
    return sum(len(channels) for channels in get_channel_layer().groups.values())


async def test_closing_sockets_touch_no_database_connection(browser, agent_cookies,
                                                            connection_checks):
    inbox = await sockets.agent(agent_cookies)
    before = memberships()
    tabs = [await sockets.visitor(browser.raw) for _ in range(3)]
    assert memberships() > before
    connection_checks.clear()
    for tab in tabs:
        await tab.disconnect()
    assert connection_checks == []
    assert memberships() == before  # every tab left every group it had joined
    # The inbox still hears the contact's messages.
    other = await sockets.visitor(browser.raw)
    await sockets.send(other, type="message.send", conversationId=browser.conversation.pk,
                       body="after the others left", clientId="after")
    assert (await sockets.receive(other))["type"] == "message.ack"
    assert (await sockets.receive(inbox))["message"]["body"] == "after the others left"
    for socket in (other, inbox):
        await socket.disconnect()
