"""Data rights on real sockets: an erased contact's tabs close, an expired token is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.utils import timezone

from chatwidget import chat, datarights
from chatwidget.consumers.base import CloseCode
from chatwidget.models import WidgetToken

from . import sockets
from .conftest import new_browser
from .sockets import accepted_then_closed, closed_with, receive, silent

pytestmark = pytest.mark.django_db(transaction=True)

VISITOR = "/ws/chatwidget/"


def staff_user():
    return get_user_model().objects.create_user("dpo", is_staff=True)


async def test_erasing_a_contact_closes_every_open_tab_of_it_and_no_other(widget):
    erased = await sync_to_async(new_browser)(widget)
    kept = await sync_to_async(new_browser)(widget)
    tab1 = await sockets.visitor(erased.raw)
    tab2 = await sockets.visitor(erased.raw)
    bystander = await sockets.visitor(kept.raw)
    actor = await sync_to_async(staff_user)()

    await sync_to_async(datarights.erase_contact)(erased.contact, actor=actor)

    for tab in (tab1, tab2):
        assert await receive(tab) == {"type": "logout"}
        assert await closed_with(tab) == CloseCode.LOGOUT
    assert await silent(bystander)
    code = await accepted_then_closed(VISITOR, cookies=erased.cookies)
    assert code == CloseCode.UNAUTHENTICATED
    await bystander.disconnect()


async def test_the_agents_inbox_hears_which_conversations_an_erase_removed(widget,
                                                                             agent_cookies):
    erased = await sync_to_async(new_browser)(widget)
    await sync_to_async(chat.start_conversation)(erased.contact)
    kept = await sync_to_async(new_browser)(widget)
    await sync_to_async(chat.start_conversation)(kept.contact)
    conversations = await sync_to_async(lambda: sorted(
        erased.contact.conversations.values_list("pk", flat=True)))()
    inbox = await sockets.agent(agent_cookies)
    actor = await sync_to_async(staff_user)()

    await sync_to_async(datarights.erase_contact)(erased.contact, actor=actor)

    frame = await receive(inbox)
    assert frame["type"] == "contact.erased" and frame["mode"] == "delete"
    assert frame["contactIds"] == [erased.contact.pk]
    assert sorted(frame["conversationIds"]) == conversations and conversations
    await inbox.disconnect()


async def test_an_expired_token_is_refused_by_the_socket(widget):
    browser = await sync_to_async(new_browser)(widget)
    await sync_to_async(WidgetToken.objects.filter(pk=browser.token.pk).update)(
        last_used_at=timezone.now() - timedelta(days=10_000))

    code = await accepted_then_closed(VISITOR, cookies=browser.cookies)

    assert code == CloseCode.UNAUTHENTICATED
