"""Sockets follow the site session and the agent's rights, from the server side (DESIGN §3).

Passive sockets included: none of these tests sends a frame before expecting the close.
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.test import Client, override_settings

from chatwidget.consumers.base import CloseCode

from . import sockets
from .conftest import new_browser
from .sockets import closed_with, receive, send, silent

pytestmark = pytest.mark.django_db(transaction=True)

VISITOR = "/ws/chatwidget/"


def session_cookies(user) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    return {"sessionid": client.cookies["sessionid"].value}


def client_with(cookies: dict[str, str]) -> Client:
    client = Client()
    for name, value in cookies.items():
        client.cookies[name] = value
    return client


async def test_a_password_change_on_another_device_closes_the_passive_tabs_of_this_one(
    widget, user
):
    phone = await sync_to_async(new_browser)(widget, user=user)
    tab = await sockets.connect(VISITOR, cookies=phone.cookies)
    laptop = await sync_to_async(client_with)(await sync_to_async(session_cookies)(user))

    response = await sync_to_async(laptop.post)("/accounts/password_change/", {
        "old_password": "pw-alice-123", "new_password1": "n3w-Pa55-word-x",
        "new_password2": "n3w-Pa55-word-x",
    })

    assert response.status_code == 302
    assert await closed_with(tab) == CloseCode.UNAUTHENTICATED


async def test_a_password_change_closes_the_agents_inbox_on_other_devices(agent):
    inbox = await sockets.agent(await sync_to_async(session_cookies)(agent))
    laptop = await sync_to_async(client_with)(await sync_to_async(session_cookies)(agent))

    await sync_to_async(laptop.post)("/accounts/password_change/", {
        "old_password": "pw-agent-123", "new_password1": "n3w-Pa55-word-x",
        "new_password2": "n3w-Pa55-word-x",
    })

    assert await closed_with(inbox) == CloseCode.UNAUTHENTICATED


async def test_a_site_logout_closes_that_sessions_inbox_but_not_the_agents_other_device(agent):
    desk_cookies = await sync_to_async(session_cookies)(agent)
    desk = await sockets.agent(desk_cookies)
    phone = await sockets.agent(await sync_to_async(session_cookies)(agent))

    await sync_to_async(client_with(desk_cookies).post)("/accounts/logout/")

    assert await closed_with(desk) == CloseCode.UNAUTHENTICATED
    await send(phone, type="ping")
    assert (await receive(phone))["type"] == "pong"
    await phone.disconnect()


async def test_deactivating_a_user_closes_their_visitor_and_agent_sockets(widget, agent):
    visitor_tab = await sockets.connect(
        VISITOR, cookies=(await sync_to_async(new_browser)(widget, user=agent)).cookies)
    inbox = await sockets.agent(await sync_to_async(session_cookies)(agent))

    agent.is_active = False
    await sync_to_async(agent.save)()

    assert await closed_with(visitor_tab) == CloseCode.UNAUTHENTICATED
    assert await closed_with(inbox) == CloseCode.UNAUTHENTICATED


async def test_losing_the_inbox_permission_closes_the_agent_socket(agent):
    inbox = await sockets.agent(await sync_to_async(session_cookies)(agent))
    permission = await sync_to_async(Permission.objects.get)(codename="use_inbox")

    await sync_to_async(agent.user_permissions.remove)(permission)

    assert await closed_with(inbox) == CloseCode.UNAUTHENTICATED


async def test_a_group_losing_the_inbox_permission_closes_its_members_sockets(db, agent):
    permission = await sync_to_async(Permission.objects.get)(codename="use_inbox")

    def move_permission_to_a_group() -> Group:
        group = Group.objects.create(name="Chat agents")
        group.permissions.add(permission)
        agent.groups.add(group)
        agent.user_permissions.remove(permission)
        return group

    group = await sync_to_async(move_permission_to_a_group)()
    inbox = await sockets.agent(await sync_to_async(session_cookies)(agent))

    await sync_to_async(group.permissions.remove)(permission)

    assert await closed_with(inbox) == CloseCode.UNAUTHENTICATED


async def test_an_unrelated_user_change_leaves_the_agent_connected(agent, other_user):
    inbox = await sockets.agent(await sync_to_async(session_cookies)(agent))

    other_user.is_active = False
    await sync_to_async(other_user.save)()

    assert await silent(inbox)
    await inbox.disconnect()


# ---------------------------------------------------------------- the periodic re-check


async def test_an_expired_session_closes_a_passive_visitor_socket_after_one_period(
    widget, user, clock
):
    """No signal announces an expiry: the 30-second timer finds it, not before."""
    tab = await sockets.connect(VISITOR, cookies=(await sync_to_async(new_browser)(
        widget, user=user)).cookies)
    await clock.sleeping()
    await sync_to_async(Session.objects.all().delete)()

    await clock.advance(29)
    assert await silent(tab)

    await clock.advance(1)
    assert await closed_with(tab) == CloseCode.UNAUTHENTICATED


async def test_an_expired_session_closes_a_passive_agent_socket_after_one_period(
    agent, clock
):
    inbox = await sockets.agent(await sync_to_async(session_cookies)(agent))
    await clock.sleeping()
    await sync_to_async(Session.objects.all().delete)()

    await clock.advance(29)
    assert await silent(inbox)

    await clock.advance(1)
    assert await closed_with(inbox) == CloseCode.UNAUTHENTICATED


@override_settings(CHATWIDGET={"REVALIDATE_INTERVAL": 5})
async def test_the_recheck_period_is_a_setting(agent, clock):
    inbox = await sockets.agent(await sync_to_async(session_cookies)(agent))
    await clock.sleeping()
    await sync_to_async(Session.objects.all().delete)()

    await clock.advance(5)

    assert await closed_with(inbox) == CloseCode.UNAUTHENTICATED


async def test_a_valid_socket_survives_many_rechecks(widget, browser, clock):
    tab = await sockets.visitor(browser.raw)
    for _ in range(3):
        await clock.sleeping()
        await clock.advance(30)
    await clock.sleeping()

    await send(tab, type="ping")
    assert (await receive(tab))["type"] == "pong"
    await tab.disconnect()


async def test_an_agent_whose_user_id_is_large_keeps_the_inbox_through_rechecks(db, clock):
    """Real sites have user ids in the thousands: the recheck compares ids by value."""
    def make_agent():
        agent = get_user_model().objects.create_user("big", password="pw-big-12345",
                                                     id=100_000, is_staff=True)
        agent.user_permissions.add(Permission.objects.get(codename="use_inbox"))
        return agent

    agent = await sync_to_async(make_agent)()
    inbox = await sockets.agent(await sync_to_async(session_cookies)(agent))
    for _ in range(2):
        # A socket closed by its recheck never sleeps again: fail, do not wait forever.
        await asyncio.wait_for(clock.sleeping(), sockets.TIMEOUT)
        await clock.advance(30)
    await asyncio.wait_for(clock.sleeping(), sockets.TIMEOUT)

    await send(inbox, type="ping")
    assert (await receive(inbox))["type"] == "pong"
    await inbox.disconnect()


# ---------------------------------------------------------------- one timer, every socket's period


async def logged_in_tab(widget, user) -> sockets.WebsocketCommunicator:
    return await sockets.connect(VISITOR, cookies=(await sync_to_async(new_browser)(
        widget, user=user)).cookies)


async def tabs_opened_ten_seconds_apart(widget, user, other_user, clock):
    first = await logged_in_tab(widget, user)
    await clock.sleeping()
    await clock.advance(10)
    return first, await logged_in_tab(widget, other_user)


async def test_passive_sockets_opened_at_different_times_each_close_one_period_after_opening(
    widget, user, other_user, clock
):
    first, second = await tabs_opened_ten_seconds_apart(widget, user, other_user, clock)
    await sync_to_async(Session.objects.all().delete)()

    await clock.advance(20)
    assert await closed_with(first) == CloseCode.UNAUTHENTICATED
    assert await silent(second)

    await clock.sleeping()
    await clock.advance(10)
    assert await closed_with(second) == CloseCode.UNAUTHENTICATED


async def test_a_closed_socket_leaves_the_others_rechecked_on_their_period(
    widget, user, other_user, clock
):
    first, second = await tabs_opened_ten_seconds_apart(widget, user, other_user, clock)
    await first.disconnect()
    await sync_to_async(Session.objects.all().delete)()

    await clock.advance(20)
    assert await silent(second)

    await clock.sleeping()
    await clock.advance(10)
    assert await closed_with(second) == CloseCode.UNAUTHENTICATED


async def test_a_socket_opened_after_the_period_was_shortened_is_rechecked_on_the_new_period(
    widget, user, other_user, settings, clock
):
    before = await logged_in_tab(widget, user)
    await clock.sleeping()
    settings.CHATWIDGET = {"REVALIDATE_INTERVAL": 5}
    after = await logged_in_tab(widget, other_user)
    await sync_to_async(Session.objects.all().delete)()

    await clock.sleeping()
    await clock.advance(5)

    assert await closed_with(after) == CloseCode.UNAUTHENTICATED
    assert await silent(before)
    await before.disconnect()
