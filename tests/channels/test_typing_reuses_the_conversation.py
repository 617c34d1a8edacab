"""Typing indicators fire on every few keystrokes: a tab loads each conversation it
types in from the database once, not once per indicator, even when it switches between
conversations."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from chatwidget import chat

from . import sockets
from .sockets import receive, send

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_tab_typing_in_two_conversations_loads_each_once(browser, agent_cookies,
                                                                 monkeypatch):
    second, _ = await sync_to_async(chat.start_conversation)(browser.contact)
    loads = []
    original = chat.get_conversation

    def get_conversation(conversation_id, **kwargs):
        loads.append(conversation_id)
        return original(conversation_id, **kwargs)

    monkeypatch.setattr(chat, "get_conversation", get_conversation)
    tab = await sockets.visitor(browser.raw)
    inbox = await sockets.agent(agent_cookies)
    # Typing reaches the agent sockets that show the thread (``watch``).
    await sockets.watch(inbox, browser.conversation.pk, second.pk)

    for conversation_id in [browser.conversation.pk, second.pk] * 3:
        await send(tab, type="typing", conversationId=conversation_id, typing=True)
        indicator = await receive(inbox)
        assert (indicator["type"], indicator["conversationId"]) == ("typing", conversation_id)

    assert sorted(loads) == sorted([browser.conversation.pk, second.pk])
    await tab.disconnect()
    await inbox.disconnect()
