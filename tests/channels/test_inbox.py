"""The agent socket's inbox features over real sockets: private notes and presence."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.test import APIClient

from chatwidget.models import AgentPresence

from . import sockets
from .sockets import receive, send, silent

pytestmark = pytest.mark.django_db(transaction=True)

NOTES = "/chatwidget/api/agent/conversations/{}/notes/"


@pytest.fixture
def second_agent(db):
    agent = get_user_model().objects.create_user("agent2", is_staff=True, first_name="Bo")
    agent.user_permissions.add(Permission.objects.get(codename="use_inbox"))
    client = Client()
    client.force_login(agent)
    return agent, {"sessionid": client.cookies["sessionid"].value}


async def test_a_note_sent_on_the_socket_reaches_every_agent_and_no_visitor_socket(
    browser, agent_cookies, second_agent
):
    tab = await sockets.visitor(browser.raw)
    writer = await sockets.agent(agent_cookies)
    reader = await sockets.agent(second_agent[1])
    assert (await receive(writer))["type"] == "agent.presence"  # Bo came online

    await send(writer, type="note.send", conversationId=browser.conversation.pk,
               body="SECRET-NOTE: refund approved", clientId="n-1")

    ack = await receive(writer)
    assert ack["type"] == "note.ack" and ack["clientId"] == "n-1"
    assert ack["note"]["body"] == "SECRET-NOTE: refund approved"
    assert ack["note"]["private"] is True
    heard = await receive(reader)
    assert heard == {"type": "note.created", "conversationId": browser.conversation.pk,
                     "note": ack["note"]}
    assert (await receive(writer))["type"] == "note.created"
    assert await silent(tab)
    for socket in (tab, writer, reader):
        await socket.disconnect()


async def test_a_note_posted_over_rest_is_heard_by_agents_only(browser, agent, agent_cookies):
    tab = await sockets.visitor(browser.raw)
    inbox = await sockets.agent(agent_cookies)

    def post_note():
        client = APIClient()
        client.force_login(agent)
        return client.post(NOTES.format(browser.conversation.pk), {"body": "SECRET-NOTE"},
                           format="json")

    assert (await sync_to_async(post_note)()).status_code == 201

    heard = await receive(inbox)
    assert heard["type"] == "note.created" and heard["note"]["body"] == "SECRET-NOTE"
    assert await silent(tab)
    await tab.disconnect()
    await inbox.disconnect()


async def test_a_visitor_resuming_from_the_start_gets_no_notes_and_no_unread(
    browser, agent_cookies
):
    inbox = await sockets.agent(agent_cookies)
    await send(inbox, type="note.send", conversationId=browser.conversation.pk,
               body="SECRET-NOTE")
    assert (await receive(inbox))["type"] == "note.ack"
    await receive(inbox)  # note.created

    tab = await sockets.visitor(browser.raw, path="/ws/chatwidget/?after=0")
    done = await receive(tab)
    await send(tab, type="resume", after=0)
    again = await receive(tab)

    assert done == {"type": "resume.done", "lastId": 0, "more": False}
    assert again == done
    assert await silent(tab)
    await tab.disconnect()
    await inbox.disconnect()


async def test_a_visitor_cannot_send_a_note(browser):
    tab = await sockets.visitor(browser.raw)

    await send(tab, type="note.send", conversationId=browser.conversation.pk, body="x")

    error = await receive(tab)
    assert error["type"] == "error" and error["code"] == "unknown_type"
    await tab.disconnect()


async def test_a_bad_note_frame_is_an_error_and_stores_nothing(agent_cookies, browser):
    inbox = await sockets.agent(agent_cookies)

    await send(inbox, type="note.send", conversationId=browser.conversation.pk, body="  ")
    empty = await receive(inbox)
    await send(inbox, type="note.send", conversationId=999999, body="x")
    missing = await receive(inbox)

    assert (empty["code"], empty["field"]) == ("invalid_field", "body")
    assert (missing["code"], missing["field"]) == ("not_found", "conversationId")
    assert not await sync_to_async(browser.conversation.notes.exists)()
    await inbox.disconnect()


# ---------------------------------------------------------------- presence


def presence_rows(user):
    return AgentPresence.objects.filter(user=user).count()


async def test_an_agent_is_online_while_any_of_their_tabs_is_open(
    widget, agent, agent_cookies, second_agent
):
    watcher = await sockets.agent(second_agent[1])
    first_tab = await sockets.agent(agent_cookies)
    came = await receive(watcher)
    second_tab = await sockets.agent(agent_cookies)

    assert came == {"type": "agent.presence", "agentId": agent.pk, "online": True,
                    "agentsOnline": True}
    assert await sync_to_async(presence_rows)(agent) == 2

    await first_tab.disconnect()
    assert await silent(watcher)  # still online in the other tab
    await second_tab.disconnect()

    went = await receive(watcher)
    assert went == {"type": "agent.presence", "agentId": agent.pk, "online": False,
                    "agentsOnline": True}  # the watcher itself is still online
    assert await sync_to_async(presence_rows)(agent) == 0
    await watcher.disconnect()


async def test_the_widget_learns_whether_an_agent_has_the_inbox_open(widget, agent_cookies):
    def agents_online():
        response = APIClient().post("/chatwidget/api/ping/", {}, format="json")
        return response.json()["widget"]["agentsOnline"]

    assert await sync_to_async(agents_online)() is False
    inbox = await sockets.agent(agent_cookies)
    assert await sync_to_async(agents_online)() is True
    await inbox.disconnect()
    assert await sync_to_async(agents_online)() is False


async def test_a_ping_frame_keeps_the_agent_seen(agent, agent_cookies, settings):
    settings.CHATWIDGET = {"PRESENCE_TIMEOUT": 0}
    inbox = await sockets.agent(agent_cookies)

    def seen_at():
        return AgentPresence.objects.get(user=agent).seen_at

    before = await sync_to_async(seen_at)()
    await send(inbox, type="ping")
    assert (await receive(inbox))["type"] == "pong"

    assert await sync_to_async(seen_at)() > before
    await inbox.disconnect()


async def test_an_active_agent_is_marked_seen_a_few_times_per_presence_timeout(
    agent, agent_cookies, settings, clock
):
    """Frames refresh presence once a third of PRESENCE_TIMEOUT has passed, so an agent
    typing away never shows as gone, and not on every frame."""
    settings.CHATWIDGET = {"PRESENCE_TIMEOUT": 90}
    inbox = await sockets.agent(agent_cookies)

    def seen_at():
        return AgentPresence.objects.get(user=agent).seen_at

    at_connect = await sync_to_async(seen_at)()
    await clock.advance(30)  # exactly a third: not yet
    await send(inbox, type="ping")
    assert (await receive(inbox))["type"] == "pong"
    assert await sync_to_async(seen_at)() == at_connect
    await clock.advance(1)
    await send(inbox, type="ping")
    assert (await receive(inbox))["type"] == "pong"

    assert await sync_to_async(seen_at)() > at_connect
    await inbox.disconnect()


async def test_notes_spend_the_message_budget(browser, agent_cookies, settings):
    settings.CHATWIDGET = {"RATE_LIMIT_MESSAGES": 2, "RATE_LIMIT_WINDOW": 60}
    inbox = await sockets.agent(agent_cookies)

    for n in range(3):
        await send(inbox, type="note.send", conversationId=browser.conversation.pk,
                   body=f"note {n}", clientId=f"n-{n}")
    replies = [await receive(inbox) for _ in range(5)]

    refused = [r for r in replies if r["type"] == "error"]
    assert [r["code"] for r in refused] == ["rate_limited"]
    assert refused[0]["clientId"] == "n-2"
    assert await sync_to_async(browser.conversation.notes.count)() == 2
    await inbox.disconnect()
