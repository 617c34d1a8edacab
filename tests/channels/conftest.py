from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from channels.layers import get_channel_layer
from django.test import Client

from chatwidget import chat, identity, ratelimit
from chatwidget.consumers.base import ChatWidgetConsumer
from chatwidget.models import Contact, Conversation, WidgetToken


@dataclass
class Browser:
    """One browser: its widget cookie (raw token), its contact and an open conversation."""

    raw: str
    token: WidgetToken
    contact: Contact
    conversation: Conversation
    cookies: dict[str, str]


def new_browser(widget, *, user=None) -> Browser:
    cookies: dict[str, str] = {}
    if user is None:
        issued = identity.create_anonymous(widget)
    else:
        client = Client()
        client.force_login(user)
        cookies["sessionid"] = client.cookies["sessionid"].value
        issued = identity.login_user(None, user, widget)
    contact = issued.token.contact
    conversation, _ = chat.start_conversation(contact)
    cookies["chatwidget"] = issued.raw
    return Browser(issued.raw, issued.token, contact, conversation, cookies)


@pytest.fixture(autouse=True)
async def clean_layer():
    """The in-memory layer and the rate windows are per process: start each test empty."""
    ratelimit.frames.reset()
    await get_channel_layer().flush()
    yield
    await get_channel_layer().flush()
    ratelimit.frames.reset()


@pytest.fixture
def browser(widget) -> Browser:
    return new_browser(widget)


@pytest.fixture
def other_browser(widget) -> Browser:
    return new_browser(widget)


@pytest.fixture
def agent_cookies(agent) -> dict[str, str]:
    client = Client()
    client.force_login(agent)
    return {"sessionid": client.cookies["sessionid"].value}


class FakeClock:
    """The sockets' re-check clock, moved by hand: a 30 s period tested as 30 s."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self.sleepers.append((self.now + seconds, future))
        await future

    async def sleeping(self, count: int = 1) -> None:
        """Wait until ``count`` timers are asleep on this clock (all sockets share one)."""
        while len([f for _, f in self.sleepers if not f.done()]) < count:
            await asyncio.sleep(0.01)

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        for deadline, future in self.sleepers:
            if deadline <= self.now and not future.done():
                future.set_result(None)
        self.sleepers = [(d, f) for d, f in self.sleepers if not f.done()]
        await asyncio.sleep(0)


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(ChatWidgetConsumer, "clock", fake)
    return fake
