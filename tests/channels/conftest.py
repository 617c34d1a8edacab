from __future__ import annotations

from dataclasses import dataclass

import pytest
from channels.layers import get_channel_layer
from django.test import Client

from chatwidget import chat, identity, ratelimit
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
