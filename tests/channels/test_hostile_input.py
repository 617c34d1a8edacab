"""Hostile frames and handshakes: an error frame or a clean refusal, never a traceback."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from chatwidget.consumers.base import CloseCode
from chatwidget.models import Message

from . import sockets
from .sockets import receive, send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_error_logs")]


async def error_for(socket, text: str) -> dict:
    await socket.send_to(text_data=text)
    error = await receive(socket)
    assert error["type"] == "error", error
    return error


async def still_works(socket) -> None:
    await send(socket, type="ping")
    assert (await receive(socket))["type"] == "pong"


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\u0000"])
async def test_message_frame_with_lone_surrogate_or_nul_is_refused_and_not_stored(
    browser, escape
):
    tab = await sockets.visitor(browser.raw)
    frame = ('{"type": "message.send", "conversationId": ' + str(browser.conversation.pk)
             + ', "body": "a' + escape + 'b", "clientId": "c1"}')
    error = await error_for(tab, frame)
    assert (error["code"], error["field"]) == ("invalid_field", "body")
    await still_works(tab)
    await tab.disconnect()
    assert not await sync_to_async(Message.objects.filter(contact=browser.contact).exists)()


async def test_surrogate_in_any_frame_key_is_refused(browser):
    tab = await sockets.visitor(browser.raw)
    error = await error_for(tab, '{"type": "ping", "\\ud800": 1}')
    assert error["code"] == "invalid_field"
    await still_works(tab)
    await tab.disconnect()


@pytest.mark.parametrize("text", [
    "[" * 20_000 + "]" * 20_000,
    '{"type": "ping", "x": NaN}',
    '{"type": "ping", "x": Infinity}',
])
async def test_deep_nesting_and_non_finite_numbers_are_invalid_json(browser, text):
    tab = await sockets.visitor(browser.raw)
    assert (await error_for(tab, text))["code"] == "invalid_json"
    await still_works(tab)
    await tab.disconnect()


async def test_moderately_deep_frames_are_refused_after_parsing(browser):
    tab = await sockets.visitor(browser.raw)
    error = await error_for(tab, '{"type": "ping", "x": ' + "[" * 30 + "]" * 30 + "}")
    assert (error["code"], error["field"]) == ("invalid_field", "x")
    await tab.disconnect()


@pytest.mark.parametrize("after", ["abc", "99999999999999999999", "%D9%A1%D9%A2", "%C2%B2",
                                   "-5"])
async def test_visitor_handshake_with_garbage_after_gets_an_error_frame(browser, after):
    tab = await sockets.visitor(browser.raw, path=f"/ws/chatwidget/?after={after}")
    error = await receive(tab)
    assert (error["type"], error["code"], error["field"]) == ("error", "invalid_field", "after")
    await still_works(tab)
    await tab.disconnect()


@pytest.mark.parametrize("after", ["abc", "99999999999999999999", "%D9%A1%D9%A2"])
async def test_agent_handshake_with_garbage_after_gets_an_error_frame(agent_cookies, after):
    inbox = await sockets.agent(agent_cookies, path=f"/ws/chatwidget/agent/?after={after}")
    error = await receive(inbox)
    assert (error["type"], error["code"], error["field"]) == ("error", "invalid_field", "after")
    await still_works(inbox)
    await inbox.disconnect()


async def test_valid_after_still_replays(browser):
    tab = await sockets.visitor(browser.raw, path="/ws/chatwidget/?after=0")
    assert (await receive(tab))["type"] == "resume.done"
    await tab.disconnect()


@pytest.mark.parametrize("path", ["/ws/chatwidget/nope/", "/ws/elsewhere/", "/"])
async def test_unrouted_socket_paths_are_refused_cleanly(browser, path):
    code = await sockets.refused(path, cookies={"chatwidget": browser.raw})
    assert code == CloseCode.NOT_FOUND


async def test_frame_integer_overflow_is_refused(browser):
    tab = await sockets.visitor(browser.raw)
    error = await error_for(tab, f'{{"type": "read", "conversationId": {2**64}}}')
    assert error["code"] == "invalid_field"
    await still_works(tab)
    await tab.disconnect()
