"""Every catalogue event reaches the right sockets, with the payload of events.py."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from chatwidget import chat, events, identity

from . import sockets
from .sockets import receive, send, silent

pytestmark = pytest.mark.django_db(transaction=True)


def publish(function, *args, **kwargs):
    """Run a chat/identity operation as a REST view would: commit, then publish."""

    def run():
        result = function(*args, **kwargs)
        published = result[1] if isinstance(result, tuple) else result
        if isinstance(published, list):
            events.publish(published)
        return result

    return sync_to_async(run)()


async def test_conversation_created_reaches_the_contact_and_the_agents(browser, agent_cookies):
    tab = await sockets.visitor(browser.raw)
    inbox = await sockets.agent(agent_cookies)

    conversation, _ = await publish(chat.start_conversation, browser.contact)

    to_contact = await receive(tab)
    assert to_contact["type"] == "conversation.created"
    assert to_contact["conversation"]["conversationId"] == conversation.pk
    assert "contactId" not in to_contact["conversation"]
    to_agents = await receive(inbox)
    assert to_agents["type"] == "conversation.created"
    assert to_agents["conversation"]["contactId"] == browser.contact.pk
    assert to_agents["contact"]["id"] == browser.contact.pk
    await tab.disconnect()
    await inbox.disconnect()


async def test_conversation_updated_on_close_and_reopen(browser, agent_cookies):
    tab = await sockets.visitor(browser.raw)
    inbox = await sockets.agent(agent_cookies)

    await publish(chat.update_conversation, browser.conversation, status="closed")

    updated = await receive(tab)
    assert updated["type"] == "conversation.updated"
    assert updated["conversation"]["ended"] is True
    assert (await receive(inbox))["conversation"]["status"] == "closed"

    await publish(chat.update_conversation, browser.conversation, status="open")
    assert (await receive(tab))["conversation"]["ended"] is False
    assert (await receive(inbox))["type"] == "conversation.updated"
    await tab.disconnect()
    await inbox.disconnect()


async def test_visitor_typing_reaches_the_agents_showing_the_thread_only(browser, agent_cookies):
    tab = await sockets.visitor(browser.raw)
    other_tab = await sockets.visitor(browser.raw)
    inbox = await sockets.agent(agent_cookies)
    await sockets.watch(inbox, browser.conversation.pk)

    await send(tab, type="typing", conversationId=browser.conversation.pk, typing=True)

    assert await receive(inbox) == {
        "type": "typing",
        "conversationId": browser.conversation.pk,
        "sender": {"kind": "contact", "name": browser.contact.display_name},
        "typing": True,
    }
    await send(tab, type="typing", conversationId=browser.conversation.pk, typing=False)
    assert (await receive(inbox))["typing"] is False
    assert await silent(tab)
    assert await silent(other_tab)
    for socket in (tab, other_tab, inbox):
        await socket.disconnect()


async def test_agent_typing_reaches_the_contacts_tabs(browser, agent_cookies):
    tab = await sockets.visitor(browser.raw)
    inbox = await sockets.agent(agent_cookies)

    await send(inbox, type="typing", conversationId=browser.conversation.pk)

    assert await receive(tab) == {
        "type": "typing",
        "conversationId": browser.conversation.pk,
        "sender": {"kind": "agent", "name": "Ada"},
        "typing": True,
    }
    await tab.disconnect()
    await inbox.disconnect()


async def test_contact_read_updates_its_tabs_and_sends_agents_a_receipt(browser, agent_cookies):
    tab = await sockets.visitor(browser.raw)
    inbox = await sockets.agent(agent_cookies)
    await sockets.watch(inbox, browser.conversation.pk)
    await send(inbox, type="message.send", conversationId=browser.conversation.pk, body="hi")
    message = (await receive(inbox))["message"]
    await receive(inbox)  # its message.created
    assert (await receive(tab))["type"] == "message.created"
    assert (await receive(tab))["total"] == 1

    await send(tab, type="read", conversationId=browser.conversation.pk,
               lastReadId=message["id"])

    assert await receive(tab) == {
        "type": "unread", "total": 0, "conversations": {},
        "change": {"conversationId": browser.conversation.pk, "count": 0},
    }
    assert await receive(inbox) == {
        "type": "read", "conversationId": browser.conversation.pk, "reader": "contact",
        "lastReadId": message["id"],
    }
    await tab.disconnect()
    await inbox.disconnect()


async def test_agent_read_sends_the_contact_a_receipt(browser, agent_cookies):
    tab = await sockets.visitor(browser.raw)
    inbox = await sockets.agent(agent_cookies)
    await sockets.watch(inbox, browser.conversation.pk)
    await send(tab, type="message.send", conversationId=browser.conversation.pk, body="hi")
    message = (await receive(tab))["message"]
    await receive(tab)
    assert (await receive(inbox))["unread"]["count"] == 1

    await send(inbox, type="read", conversationId=browser.conversation.pk)

    receipt = {"type": "read", "conversationId": browser.conversation.pk, "reader": "agent",
               "lastReadId": message["id"]}
    assert await receive(tab) == receipt
    assert await receive(inbox) == {
        "type": "unread", "change": {"conversationId": browser.conversation.pk, "count": 0}
    }
    assert await receive(inbox) == receipt
    await tab.disconnect()
    await inbox.disconnect()


async def test_contact_updated_reaches_the_agents(browser, agent_cookies):
    inbox = await sockets.agent(agent_cookies)
    tab = await sockets.visitor(browser.raw)

    await sync_to_async(identity.update_contact)(browser.contact, name="Zoe",
                                                 attributes={"plan": "pro"})

    updated = await receive(inbox)
    assert updated["type"] == "contact.updated"
    assert updated["contact"]["name"] == "Zoe"
    assert updated["contact"]["attributes"] == {"plan": "pro"}
    assert await silent(tab)
    await tab.disconnect()
    await inbox.disconnect()


async def test_events_of_one_contact_never_reach_another(browser, other_browser, agent_cookies):
    mine = await sockets.visitor(browser.raw)
    theirs = await sockets.visitor(other_browser.raw)
    inbox = await sockets.agent(agent_cookies)

    await send(inbox, type="message.send", conversationId=browser.conversation.pk,
               body="private")
    await send(inbox, type="typing", conversationId=browser.conversation.pk)

    assert (await receive(mine))["type"] == "message.created"
    assert await silent(theirs)
    for socket in (mine, theirs, inbox):
        await socket.disconnect()


async def test_pong_tells_the_newest_message_id_so_clients_can_spot_gaps(
    browser, other_browser, agent_cookies
):
    tab = await sockets.visitor(browser.raw)
    elsewhere = await sockets.visitor(other_browser.raw)
    inbox = await sockets.agent(agent_cookies)
    await send(tab, type="ping")
    assert await receive(tab) == {"type": "pong", "lastId": 0}

    await send(inbox, type="message.send", conversationId=browser.conversation.pk, body="hi")
    message_id = (await receive(inbox))["message"]["id"]

    for socket, last_id in ((tab, message_id), (elsewhere, 0), (inbox, message_id)):
        while not await socket.receive_nothing(0.1):
            await socket.receive_from()
        await send(socket, type="ping")
        assert await receive(socket) == {"type": "pong", "lastId": last_id}
        await socket.disconnect()
