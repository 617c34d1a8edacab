"""Logout and login reach every tab of the browser, over HTTP as the site does them.

Channels resolves ``scope["user"]`` once, at connect: without an explicit push a socket
would outlive the site login it was opened under.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client

from chatwidget import identity
from chatwidget.consumers.base import CloseCode

from . import sockets
from .conftest import new_browser
from .sockets import accepted_then_closed, closed_with, receive, send, silent

pytestmark = pytest.mark.django_db(transaction=True)

VISITOR = "/ws/chatwidget/"


def browser_client(cookies: dict[str, str]) -> Client:
    client = Client()
    for name, value in cookies.items():
        client.cookies[name] = value
    return client


async def test_site_logout_closes_both_tabs_and_the_old_cookie_is_refused(widget, user):
    logged_in = await sync_to_async(new_browser)(widget, user=user)
    tab1 = await sockets.connect(VISITOR, cookies=logged_in.cookies)
    tab2 = await sockets.connect(VISITOR, cookies=logged_in.cookies)
    client = browser_client(logged_in.cookies)

    response = await sync_to_async(client.post)("/accounts/logout/")

    assert response.status_code == 302
    assert response.cookies["chatwidget"].value == ""  # the middleware cleared it
    for tab in (tab1, tab2):
        assert await receive(tab) == {"type": "logout"}
        assert await closed_with(tab) == CloseCode.LOGOUT
    code = await accepted_then_closed(VISITOR, cookies=logged_in.cookies)
    assert code == CloseCode.UNAUTHENTICATED
    code = await accepted_then_closed(VISITOR, cookies={"chatwidget": logged_in.raw})
    assert code == CloseCode.UNAUTHENTICATED


async def test_sdk_logout_closes_every_tab_of_the_browser_only(browser, other_browser):
    tab1 = await sockets.visitor(browser.raw)
    tab2 = await sockets.visitor(browser.raw)
    elsewhere = await sockets.visitor(other_browser.raw)

    await sync_to_async(identity.logout)(browser.token)

    for tab in (tab1, tab2):
        assert await receive(tab) == {"type": "logout"}
        assert await closed_with(tab) == CloseCode.LOGOUT
    assert await silent(elsewhere)
    assert await accepted_then_closed(VISITOR, cookies=browser.cookies) == \
        CloseCode.UNAUTHENTICATED
    await elsewhere.disconnect()


async def test_the_rest_logout_closes_every_tab_of_the_browser(browser):
    tab1 = await sockets.visitor(browser.raw)
    tab2 = await sockets.visitor(browser.raw)
    client = browser_client(browser.cookies)

    response = await sync_to_async(client.post)("/chatwidget/api/logout/")

    assert response.status_code == 200, response.content
    for tab in (tab1, tab2):
        assert await receive(tab) == {"type": "logout"}
        assert await closed_with(tab) == CloseCode.LOGOUT
    code = await accepted_then_closed(VISITOR, cookies=browser.cookies)
    assert code == CloseCode.UNAUTHENTICATED


async def test_site_login_switches_every_tab_to_the_users_contact(widget, browser, user):
    tab1 = await sockets.visitor(browser.raw)
    tab2 = await sockets.visitor(browser.raw)
    users_other_device = await sync_to_async(new_browser)(widget, user=user)
    other_device = await sockets.connect(VISITOR, cookies=users_other_device.cookies)
    client = browser_client(browser.cookies)

    response = await sync_to_async(client.post)(
        "/accounts/login/", {"username": "alice", "password": "pw-alice-123"}
    )

    assert response.status_code == 302
    for tab in (tab1, tab2):
        login = await receive(tab)
        # Bare: whoever held the old token learns nothing of the identified user.
        assert login == {"type": "login"}
        assert await closed_with(tab) == CloseCode.LOGIN
    # The user's other device already is that contact: it keeps its socket.
    assert await silent(other_device)
    # The tab reconnects with the cookie the login response set.
    cookies = {name: morsel.value for name, morsel in response.cookies.items()}
    assert cookies["chatwidget"] != browser.raw
    tab = await sockets.connect(VISITOR, cookies=cookies)
    assert tab.ready["contactId"] == users_other_device.contact.pk
    # The anonymous history came along (merge on identify).
    await send(tab, type="message.send", conversationId=browser.conversation.pk, body="mine")
    assert (await receive(tab))["type"] == "message.ack"
    await tab.disconnect()
    await other_device.disconnect()


async def test_a_login_also_logs_out_the_merged_visitors_other_tokens(browser, user):
    """Another token of the same anonymous visitor (a concurrent tab's) holds a history that
    now belongs to the user: its socket is logged out, not left on an emptied contact."""
    other = await sync_to_async(identity.issue_token)(browser.contact)
    other_tab = await sockets.visitor(other.raw)
    client = browser_client(browser.cookies)

    response = await sync_to_async(client.post)(
        "/accounts/login/", {"username": "alice", "password": "pw-alice-123"}
    )

    assert response.status_code == 302
    assert (await receive(other_tab))["type"] == "logout"
    assert await closed_with(other_tab) == CloseCode.LOGOUT
    assert await accepted_then_closed(VISITOR, cookies={"chatwidget": other.raw}) is not None


async def test_a_lost_logout_push_is_caught_on_the_next_frame(browser, clock):
    """Redis down at logout time: the socket re-checks its token before acting."""
    tab = await sockets.visitor(browser.raw)
    await sync_to_async(identity.revoke_token)(browser.token, notify=False)
    clock.now += 30  # a period has passed, but the timer has not fired yet

    await send(tab, type="message.send", conversationId=browser.conversation.pk, body="x")

    assert await closed_with(tab) == CloseCode.UNAUTHENTICATED


async def test_an_agent_logged_out_elsewhere_is_closed_on_the_next_frame(
    agent_cookies, clock
):
    inbox = await sockets.agent(agent_cookies)
    await send(inbox, type="ping")
    assert (await receive(inbox))["type"] == "pong"

    await sync_to_async(Session.objects.all().delete)()
    clock.now += 30
    await send(inbox, type="ping")

    assert await closed_with(inbox) == CloseCode.UNAUTHENTICATED


async def test_a_logout_relayed_by_a_serialising_layer_still_closes_the_tab(browser):
    """Redis hands consumers decoded copies of the event name, never the catalogue's object."""
    from channels.layers import get_channel_layer

    from chatwidget import events

    tab = await sockets.visitor(browser.raw)
    decoded = "".join(["log", "out"])  # equal to events.LOGOUT, another object
    assert decoded == events.LOGOUT and decoded is not events.LOGOUT

    await get_channel_layer().group_send(
        events.token_group(browser.token.pk),
        {"type": events.LAYER_TYPE, "event": decoded, "payload": {}},
    )

    assert await receive(tab) == {"type": "logout"}
    assert await closed_with(tab) == CloseCode.LOGOUT
