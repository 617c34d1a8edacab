"""Socket guards that back each other up, each tested on its own, and what a visitor's
socket must never hear (issue 12's mutation survivors)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import path

from chatwidget import identity
from chatwidget.consumers import AgentConsumer, VisitorConsumer
from chatwidget.consumers.base import CloseCode
from chatwidget.models import Widget
from chatwidget.security import WidgetOriginValidator, origin_in

from . import sockets
from .conftest import new_browser
from .sockets import TIMEOUT, accepted_then_closed, closed_with, receive, refused, silent

pytestmark = pytest.mark.django_db(transaction=True)

VISITOR = "/ws/chatwidget/"
AGENT = "/ws/chatwidget/agent/"
SHOP = "https://shop.example"


@pytest.mark.parametrize("origin", [
    "https://evilshop.example",  # a suffix of the allowed host
    "https://shop.example.evil.example",  # a prefix
    "http://shop.example",  # same host, another scheme
    "https://shop.example:8443",  # same host, another port
])
def test_only_the_exact_allowed_origin_matches(origin):
    assert not origin_in(origin, [SHOP])
    assert origin_in(SHOP + "/", [SHOP])


async def test_a_look_alike_origin_cannot_open_the_visitor_socket(widget, browser):
    widget.allowed_origins = [SHOP]
    await sync_to_async(widget.save)()

    assert await refused(VISITOR, origin="https://evilshop.example") == CloseCode.FORBIDDEN


async def test_an_unparseable_origin_header_is_refused_without_an_error(agent_cookies):
    """``http://[::1`` makes ``urlsplit`` itself raise: still a refusal, not a crash."""
    assert await refused(AGENT, origin="http://[::1", cookies=agent_cookies) is not None


async def test_the_origin_validator_alone_keeps_foreign_origins_off_the_agent_path():
    """The validator's path rule without the agent consumer behind it."""
    reached = []

    async def app(scope, receive, send):
        reached.append(scope)
        await send({"type": "websocket.accept"})

    socket = WebsocketCommunicator(WidgetOriginValidator(app), AGENT,
                                   headers=[(b"origin", SHOP.encode())])
    connected, _ = await socket.connect(timeout=TIMEOUT)

    assert not connected and reached == []


async def test_the_agent_consumer_alone_refuses_a_cross_origin_handshake(agent_cookies):
    """The consumer's refusal without the validator in front: even with a valid session."""
    application = AuthMiddlewareStack(URLRouter([path(AGENT.lstrip("/"),
                                                      AgentConsumer.as_asgi())]))
    cookie = "; ".join(f"{k}={v}" for k, v in agent_cookies.items())
    socket = WebsocketCommunicator(application, AGENT, headers=[(b"cookie", cookie.encode())])
    socket.scope["chatwidget_cross_origin"] = True

    connected, code = await socket.connect(timeout=TIMEOUT)

    assert not connected and code == CloseCode.FORBIDDEN


async def test_the_visitor_consumer_alone_refuses_a_foreign_pages_cookie(browser):
    """Mounted without WidgetOriginValidator, the consumer still tells a foreign origin
    from the site's own: the ambient cookie is never trusted cross-origin."""
    application = AuthMiddlewareStack(URLRouter([path(VISITOR.lstrip("/"),
                                                      VisitorConsumer.as_asgi())]))
    socket = WebsocketCommunicator(application, VISITOR, headers=[
        (b"origin", b"https://evil.example"), (b"cookie", f"chatwidget={browser.raw}".encode())])

    connected, code = await socket.connect(timeout=TIMEOUT)

    assert not connected and code == CloseCode.FORBIDDEN


async def test_a_socket_naming_an_unknown_widget_is_refused_even_with_a_valid_token(browser):
    code = await accepted_then_closed(VISITOR + "?app_id=nope",
                                      [{"type": "auth", "token": browser.raw}],
                                      cookies={"chatwidget_nope": browser.raw})

    assert code == CloseCode.UNAUTHENTICATED


async def test_an_embed_without_app_id_may_not_use_another_widgets_token(settings, widget):
    """No app_id means the default widget: a shop widget's token is not for it."""
    settings.CHATWIDGET = {"ALLOWED_ORIGINS": [SHOP]}
    shop = await sync_to_async(Widget.objects.create)(app_id="shop", name="Shop")
    shops_visitor = await sync_to_async(identity.create_anonymous)(shop)

    code = await accepted_then_closed(VISITOR, [{"type": "auth", "token": shops_visitor.raw}],
                                      origin=SHOP)

    assert code == CloseCode.UNAUTHENTICATED


async def test_a_same_site_socket_for_another_app_id_refuses_this_widgets_token(
    widget, browser
):
    await sync_to_async(Widget.objects.create)(app_id="shop", name="Shop")

    code = await accepted_then_closed(VISITOR + "?app_id=shop",
                                      [{"type": "auth", "token": browser.raw}],
                                      cookies={"chatwidget_shop": browser.raw})

    assert code == CloseCode.UNAUTHENTICATED


async def test_the_visitors_conversation_updated_carries_no_agent_only_fields(
    browser, agent, agent_cookies
):
    tab = await sockets.visitor(browser.raw)
    inbox = await sockets.agent(agent_cookies)
    client = Client()
    await sync_to_async(client.force_login)(agent)

    await sync_to_async(client.post)(
        f"/chatwidget/api/agent/conversations/{browser.conversation.pk}/assign/",
        {"assignee_id": agent.pk}, content_type="application/json")

    seen = await receive(tab)
    assert seen["type"] == "conversation.updated"
    assert "assigneeId" not in seen["conversation"]
    assert "contactId" not in seen["conversation"]
    agents_view = await receive(inbox)
    assert agents_view["conversation"]["assigneeId"] == agent.pk  # the test can fail
    await tab.disconnect()
    await inbox.disconnect()


async def test_a_logout_reaches_this_browsers_tabs_only_not_the_users_other_devices(
    widget, user
):
    laptop = await sync_to_async(new_browser)(widget, user=user)
    phone = await sync_to_async(new_browser)(widget, user=user)
    laptop_tab = await sockets.connect(VISITOR, cookies=laptop.cookies)
    phone_tab = await sockets.connect(VISITOR, cookies=phone.cookies)

    await sync_to_async(identity.logout)(laptop.token)  # what every logout path calls

    assert (await receive(laptop_tab))["type"] == "logout"
    assert await closed_with(laptop_tab) == CloseCode.LOGOUT
    assert await silent(phone_tab)
    await phone_tab.disconnect()


async def test_a_socket_for_another_widget_uses_that_widgets_own_cookie(widget, browser):
    shop = await sync_to_async(Widget.objects.create)(app_id="shop", name="Shop")
    shops_visitor = await sync_to_async(identity.create_anonymous)(shop)
    cookies = {"chatwidget": browser.raw, "chatwidget_shop": shops_visitor.raw}

    on_shop = await sockets.connect(VISITOR + "?app_id=shop", cookies=cookies)
    on_default = await sockets.connect(VISITOR, cookies=cookies)

    assert on_shop.ready["contactId"] == shops_visitor.token.contact_id
    assert on_default.ready["contactId"] == browser.contact.pk
    await on_shop.disconnect()
    await on_default.disconnect()
