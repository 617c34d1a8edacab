"""Who may open which socket: widget cookie, bearer token, site session, origin."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import channels.auth
import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.utils import timezone

from chatwidget import identity
from chatwidget.consumers import VisitorConsumer
from chatwidget.consumers.base import CloseCode
from chatwidget.models import Contact, Widget

from . import sockets
from .conftest import new_browser
from .sockets import accepted_then_closed, receive, refused, send

pytestmark = pytest.mark.django_db(transaction=True)

VISITOR = "/ws/chatwidget/"
AGENT = "/ws/chatwidget/agent/"
UNAUTHENTICATED = CloseCode.UNAUTHENTICATED
FORBIDDEN = CloseCode.FORBIDDEN
SHOP = "https://shop.example"


# ---------------------------------------------------------------- widget cookie


async def test_the_widget_cookie_opens_the_visitor_socket(browser):
    tab = await sockets.visitor(browser.raw)
    assert tab.ready == {"type": "ready", "contactId": browser.contact.pk}
    await tab.disconnect()


async def test_a_visitor_without_a_site_session_opens_its_socket_without_a_user_lookup(
    browser, monkeypatch
):
    """No session cookie: anonymous, and no trip to the database thread to learn it."""
    def looked_up(scope):
        raise AssertionError("the session's user was looked up")

    monkeypatch.setattr(channels.auth, "get_user", database_sync_to_async(looked_up))
    tab = await sockets.visitor(browser.raw)
    assert tab.ready == {"type": "ready", "contactId": browser.contact.pk}
    await tab.disconnect()


async def test_without_a_cookie_a_socket_must_authenticate_first():
    code = await accepted_then_closed(VISITOR, [{"type": "ping"}])
    assert code == UNAUTHENTICATED


async def test_a_socket_that_never_authenticates_is_closed(monkeypatch):
    monkeypatch.setattr(VisitorConsumer, "auth_timeout", 0.05)
    assert await accepted_then_closed(VISITOR) == UNAUTHENTICATED


async def test_an_unknown_token_is_refused():
    code = await accepted_then_closed(VISITOR, cookies={"chatwidget": "not-a-token"})
    assert code == UNAUTHENTICATED


async def test_sockets_opening_together_each_get_their_contact_and_a_bad_token_fails_alone(
    widget
):
    browsers = [await sync_to_async(new_browser)(widget) for _ in range(4)]
    revoked = browsers.pop()
    await sync_to_async(identity.revoke_token)(revoked.token, notify=False)
    tabs = [browsers[0], *browsers]  # the first browser has two tabs
    # Back after a while (a deploy): each contact is marked seen again.
    long_ago = timezone.now() - identity.LAST_SEEN_RESOLUTION - timedelta(minutes=5)
    await sync_to_async(Contact.objects.update)(last_seen_at=long_ago)

    opened, code = await asyncio.gather(
        asyncio.gather(*(sockets.visitor(browser.raw) for browser in tabs)),
        accepted_then_closed(VISITOR, cookies=revoked.cookies),
    )

    assert [tab.ready["contactId"] for tab in opened] == [b.contact.pk for b in tabs]
    assert code == UNAUTHENTICATED
    seen = await sync_to_async(lambda: {
        c.pk: c.last_seen_at > long_ago for c in Contact.objects.all()})()
    assert seen == {b.contact.pk: b is not revoked for b in [*browsers, revoked]}
    await send(opened[0], type="message.send", conversationId=browsers[0].conversation.pk,
               body="from the first tab", clientId="c1")
    assert (await receive(opened[0]))["type"] == "message.ack"
    assert (await receive(opened[1]))["message"]["body"] == "from the first tab"
    for tab in opened:
        await tab.disconnect()


async def test_a_revoked_token_is_refused(browser):
    await sync_to_async(identity.revoke_token)(browser.token)
    code = await accepted_then_closed(VISITOR, cookies=browser.cookies)
    assert code == UNAUTHENTICATED


async def test_a_users_token_without_that_users_session_is_refused(widget, user):
    """The browser logged out of the site (or the cookie was copied): no history."""
    users_browser = await sync_to_async(new_browser)(widget, user=user)
    code = await accepted_then_closed(VISITOR, cookies={"chatwidget": users_browser.raw})
    assert code == UNAUTHENTICATED


async def test_an_anonymous_token_with_a_site_login_is_refused_until_the_ping(widget, user):
    """The site login changed since the cookie was set: the SDK re-pings, then reconnects."""
    logged_in = await sync_to_async(new_browser)(widget, user=user)
    anonymous = await sync_to_async(new_browser)(widget)
    cookies = {"sessionid": logged_in.cookies["sessionid"], "chatwidget": anonymous.raw}
    assert await accepted_then_closed(VISITOR, cookies=cookies) == UNAUTHENTICATED


async def test_another_users_session_cannot_use_a_users_token(widget, user, other_user):
    alices = await sync_to_async(new_browser)(widget, user=user)
    bobs = await sync_to_async(new_browser)(widget, user=other_user)
    cookies = {"sessionid": bobs.cookies["sessionid"], "chatwidget": alices.raw}
    assert await accepted_then_closed(VISITOR, cookies=cookies) == UNAUTHENTICATED


async def test_a_logged_in_user_opens_the_socket_of_its_contact(widget, user):
    users_browser = await sync_to_async(new_browser)(widget, user=user)
    tab = await sockets.connect(VISITOR, cookies=users_browser.cookies)
    assert tab.ready["contactId"] == users_browser.contact.pk
    await tab.disconnect()


async def test_a_token_of_another_widget_is_refused(browser):
    await sync_to_async(Widget.objects.create)(app_id="other", name="Other")
    # The other widget has its own cookie; this widget's token is refused as its credential.
    code = await accepted_then_closed(VISITOR + "?app_id=other",
                                      [{"type": "auth", "token": browser.raw}],
                                      cookies=browser.cookies)
    assert code == UNAUTHENTICATED
    tab = await sockets.visitor(browser.raw, path=VISITOR + "?app_id=default")
    await tab.disconnect()


# ---------------------------------------------------------------- bearer token


async def test_a_bearer_token_sent_as_the_first_frame_authenticates(browser):
    socket = sockets.communicator(VISITOR)
    assert (await socket.connect())[0]
    await send(socket, type="auth", token=browser.raw)
    assert await receive(socket) == {"type": "ready", "contactId": browser.contact.pk}
    await send(socket, type="ping")
    assert (await receive(socket))["type"] == "pong"
    await socket.disconnect()


async def test_a_bad_bearer_token_is_refused(browser):
    code = await accepted_then_closed(VISITOR, [{"type": "auth", "token": "forged"}])
    assert code == UNAUTHENTICATED
    code = await accepted_then_closed(VISITOR, [{"type": "auth", "token": 123}])
    assert code == UNAUTHENTICATED


async def test_auth_on_an_authenticated_socket_is_an_error(browser, other_browser):
    tab = await sockets.visitor(browser.raw)
    await send(tab, type="auth", token=other_browser.raw)
    error = await receive(tab)
    assert error["type"] == "error" and error["code"] == "unknown_type"
    await tab.disconnect()


async def test_a_cross_origin_embed_listed_on_the_widget_authenticates_by_bearer(
    widget, browser
):
    widget.allowed_origins = [SHOP]
    await sync_to_async(widget.save)()
    socket = sockets.communicator(VISITOR, origin=SHOP)
    assert (await socket.connect())[0]
    await send(socket, type="auth", token=browser.raw)
    assert (await receive(socket))["type"] == "ready"
    await socket.disconnect()


async def test_origins_allowed_in_settings_may_embed_every_widget(settings, browser):
    settings.CHATWIDGET = {"ALLOWED_ORIGINS": [SHOP + ":443"]}
    socket = sockets.communicator(VISITOR, origin=SHOP)
    assert (await socket.connect())[0]
    await send(socket, type="auth", token=browser.raw)
    assert (await receive(socket))["type"] == "ready"
    await socket.disconnect()


async def test_a_foreign_origin_not_allowed_to_embed_is_refused_at_the_handshake(browser):
    assert await refused(VISITOR, origin="https://evil.example",
                         cookies=browser.cookies) == FORBIDDEN


async def test_a_cross_origin_socket_never_uses_the_cookie(widget, browser):
    """Cross-site websocket hijacking: the browser attaches the cookie, we ignore it."""
    widget.allowed_origins = [SHOP]
    await sync_to_async(widget.save)()
    code = await accepted_then_closed(VISITOR, [{"type": "resume", "after": 0}], origin=SHOP,
                                      cookies=browser.cookies)
    assert code == UNAUTHENTICATED


async def test_a_cross_origin_token_must_belong_to_the_embedded_widget(widget, browser):
    shop = await sync_to_async(Widget.objects.create)(app_id="shop", name="Shop",
                                                       allowed_origins=[SHOP])
    assert shop.pk != widget.pk
    code = await accepted_then_closed(VISITOR + "?app_id=shop",
                                      [{"type": "auth", "token": browser.raw}], origin=SHOP)
    assert code == UNAUTHENTICATED


# ---------------------------------------------------------------- agent socket


async def test_the_agent_socket_needs_a_session():
    assert await accepted_then_closed(AGENT) == UNAUTHENTICATED


async def test_the_agent_socket_needs_the_inbox_permission(widget, user):
    staff = await sync_to_async(get_user_model().objects.create_user)(
        "staff", password="pw-staff-123", is_staff=True
    )
    for someone in (user, staff):
        cookies = (await sync_to_async(new_browser)(widget, user=someone)).cookies
        assert await accepted_then_closed(AGENT, cookies=cookies) == FORBIDDEN


async def test_an_agent_opens_the_agent_socket(agent, agent_cookies):
    inbox = await sockets.agent(agent_cookies)
    assert inbox.ready == {"type": "ready", "agent": {"id": agent.pk, "name": "Ada"}}
    await inbox.disconnect()


# ---------------------------------------------------------------- origin validation


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["chat.example.com"]


async def test_a_foreign_origin_is_refused_in_production(production, browser, agent_cookies):
    evil = "https://evil.example"
    await refused(AGENT, origin=evil, cookies=agent_cookies)
    assert await refused(VISITOR, origin=evil, cookies=browser.cookies) == FORBIDDEN
    # Not even the development hosts pass once ALLOWED_HOSTS names the real one.
    await refused(AGENT, origin="http://127.0.0.1:8000", cookies=agent_cookies)
    await refused(VISITOR, origin="http://localhost:8000", cookies=browser.cookies)


async def test_a_handshake_without_origin_is_refused(production, browser, agent_cookies):
    await refused(AGENT, origin=None, cookies=agent_cookies)
    await refused(VISITOR, origin=None, cookies=browser.cookies)


async def test_the_sites_own_origin_is_accepted_in_production(production, browser,
                                                              agent_cookies):
    tab = await sockets.visitor(browser.raw, origin="https://chat.example.com")
    inbox = await sockets.agent(agent_cookies, origin="https://chat.example.com")
    await tab.disconnect()
    await inbox.disconnect()


async def test_embed_origins_never_reach_the_agent_socket(widget, agent_cookies):
    widget.allowed_origins = [SHOP]
    await sync_to_async(widget.save)()
    await refused(AGENT, origin=SHOP, cookies=agent_cookies)
