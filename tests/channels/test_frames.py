"""Bad frames get a documented error (or, for abuse, a documented close); nothing crashes,
nothing leaks, and the other sockets carry on."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async

from chatwidget.consumers.base import CloseCode
from chatwidget.models import Message

from . import sockets
from .sockets import closed_with, receive, send, silent

pytestmark = pytest.mark.django_db(transaction=True)


async def error_for(socket, *, text=None, data=None, **frame):
    if data is not None:
        await socket.send_to(bytes_data=data)
    else:
        await socket.send_to(text_data=text if text is not None else json.dumps(frame))
    error = await receive(socket)
    assert error["type"] == "error", error
    assert set(error) <= {"type", "code", "message", "field", "clientId", "limit",
                          "retryAfter"}
    return error


async def still_works(socket):
    await send(socket, type="ping")
    assert (await receive(socket))["type"] == "pong"


@pytest.fixture
async def tab(browser):
    socket = await sockets.visitor(browser.raw)
    yield socket
    await socket.disconnect()


@pytest.fixture
async def inbox(agent_cookies):
    socket = await sockets.agent(agent_cookies)
    yield socket
    await socket.disconnect()


@pytest.mark.parametrize("text", ["not json", "{", "[1, 2]", '"text"', "null"])
async def test_non_json_and_non_object_frames_are_invalid_json(tab, text):
    assert (await error_for(tab, text=text))["code"] == "invalid_json"
    await still_works(tab)


async def test_binary_frames_are_not_supported(tab, inbox):
    for socket in (tab, inbox):
        assert (await error_for(socket, data=b"\x00\x01"))["code"] == "binary_not_supported"
        await still_works(socket)


async def test_unknown_and_missing_types(tab, inbox):
    for socket in (tab, inbox):
        error = await error_for(socket, type="message.delete")
        assert (error["code"], error["field"]) == ("unknown_type", "type")
        error = await error_for(socket, body="no type")
        assert (error["code"], error["field"]) == ("invalid_field", "type")
        error = await error_for(socket, type=["message.send"])
        assert error["code"] == "invalid_field"
    # Agent-only frames are unknown on the visitor socket, and vice versa.
    assert (await error_for(inbox, type="auth", token="x"))["code"] == "unknown_type"


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ({"type": "message.send", "body": "hi"}, "conversationId"),
        ({"type": "message.send", "conversationId": "1", "body": "hi"}, "conversationId"),
        ({"type": "message.send", "conversationId": True, "body": "hi"}, "conversationId"),
        ({"type": "message.send", "conversationId": -1, "body": "hi"}, "conversationId"),
        ({"type": "message.send", "conversationId": 1.5, "body": "hi"}, "conversationId"),
        ({"type": "message.send", "conversationId": 0}, "body"),
        ({"type": "message.send", "conversationId": 0, "body": 42}, "body"),
        ({"type": "message.send", "conversationId": 0, "body": "   "}, "body"),
        ({"type": "message.send", "conversationId": 0, "body": "x" * 5001}, "body"),
        ({"type": "message.send", "conversationId": 0, "body": "hi", "clientId": 7},
         "clientId"),
        ({"type": "message.send", "conversationId": 0, "body": "hi", "clientId": "c" * 65},
         "clientId"),
        ({"type": "typing", "conversationId": 0, "typing": "yes"}, "typing"),
        ({"type": "typing"}, "conversationId"),
        ({"type": "read", "conversationId": 0, "lastReadId": "9"}, "lastReadId"),
        ({"type": "resume"}, "after"),
        ({"type": "resume", "after": None}, "after"),
    ],
)
async def test_missing_or_ill_typed_fields(browser, inbox, frame, field):
    frame = {k: (browser.conversation.pk if v == 0 and k == "conversationId" else v)
             for k, v in frame.items()}
    tab = await sockets.visitor(browser.raw)
    for socket in (tab, inbox):
        if frame["type"] == "message.send" and socket is inbox and field == "clientId":
            continue
        error = await error_for(socket, **frame)
        assert (error["code"], error.get("field")) == ("invalid_field", field), error
        await still_works(socket)
    await tab.disconnect()
    assert await sync_to_async(Message.objects.count)() == 0


async def test_errors_name_the_client_id_of_the_failed_send(tab):
    error = await error_for(tab, type="message.send", conversationId=10**9, body="hi",
                            clientId="c-9")
    assert error["clientId"] == "c-9"


async def test_another_contacts_conversation_is_not_found(browser, other_browser, tab):
    """Indistinguishable from a conversation that does not exist: nothing leaks."""
    listening = await sockets.visitor(other_browser.raw)
    theirs = other_browser.conversation.pk
    for frame in (
        {"type": "message.send", "conversationId": theirs, "body": "hijack"},
        {"type": "typing", "conversationId": theirs},
        {"type": "read", "conversationId": theirs, "lastReadId": 1},
        {"type": "message.send", "conversationId": 10**12, "body": "nowhere"},
    ):
        error = await error_for(tab, **frame)
        assert (error["code"], error["field"]) == ("not_found", "conversationId")
        assert error["message"] == "No such conversation."
    assert await silent(listening)
    assert await sync_to_async(Message.objects.count)() == 0
    await listening.disconnect()


async def test_agents_get_not_found_for_unknown_conversations(inbox):
    for frame in ({"type": "message.send", "conversationId": 10**9, "body": "hi"},
                  {"type": "typing", "conversationId": 10**9},
                  {"type": "read", "conversationId": 10**9}):
        assert (await error_for(inbox, **frame))["code"] == "not_found"


async def test_oversized_frames_are_refused_then_the_socket_is_closed(settings, browser):
    settings.CHATWIDGET = {"MAX_FRAME_SIZE": 1000}
    tab = await sockets.visitor(browser.raw)
    neighbour = await sockets.visitor(browser.raw)
    big = json.dumps({"type": "message.send", "conversationId": browser.conversation.pk,
                      "body": "é" * 600},  # 1200 bytes of UTF-8 in 600 characters
                     ensure_ascii=False)  # (escaped, it would be 3600 ASCII bytes)
    for _ in range(2):
        error = await error_for(tab, text=big)
        assert (error["code"], error["limit"]) == ("frame_too_large", 1000)
    await still_works(tab)
    await tab.send_to(text_data=big)
    assert await closed_with(tab) == CloseCode.FRAME_TOO_LARGE
    await still_works(neighbour)
    await neighbour.disconnect()
    assert await sync_to_async(Message.objects.count)() == 0


async def test_a_frame_far_over_the_limit_closes_at_once(settings, browser):
    settings.CHATWIDGET = {"MAX_FRAME_SIZE": 1000}
    tab = await sockets.visitor(browser.raw)
    await tab.send_to(text_data="x" * 5000)
    assert await closed_with(tab) == CloseCode.FRAME_TOO_LARGE


async def test_flooding_is_rate_limited_per_contact_across_tabs(settings, browser,
                                                                other_browser):
    settings.CHATWIDGET = {"RATE_LIMIT_MESSAGES": 3, "RATE_LIMIT_WINDOW": 60}
    tab1 = await sockets.visitor(browser.raw)
    tab2 = await sockets.visitor(browser.raw)
    someone_else = await sockets.visitor(other_browser.raw)
    frame = {"type": "message.send", "conversationId": browser.conversation.pk, "body": "x"}

    for socket in (tab1, tab2, tab1):
        await send(socket, **frame)
        while (await receive(socket))["type"] != "message.ack":
            pass  # the copies of earlier messages, sent to every tab
    for socket in (tab1, tab2):
        while not await socket.receive_nothing(0.1):
            await socket.receive_from()
    error = await error_for(tab2, **frame, clientId="over")
    assert error["code"] == "rate_limited"
    assert error["clientId"] == "over"
    assert 0 < error["retryAfter"] <= 60
    # Another contact's budget is its own.
    await send(someone_else, type="message.send", conversationId=other_browser.conversation.pk,
               body="fine")
    assert (await receive(someone_else))["type"] == "message.ack"
    assert await sync_to_async(Message.objects.filter(contact=browser.contact).count)() == 3
    for socket in (tab1, tab2, someone_else):
        await socket.disconnect()


async def test_a_socket_that_keeps_flooding_is_closed(settings, browser):
    settings.CHATWIDGET = {"RATE_LIMIT_MESSAGES": 2, "RATE_LIMIT_WINDOW": 60}
    tab = await sockets.visitor(browser.raw)
    neighbour = await sockets.visitor(browser.raw)
    for _ in range(8):  # 2 × 4 other frames allowed per window
        await send(tab, type="ping")
        assert (await receive(tab))["type"] == "pong"
    codes = []
    for _ in range(10):
        await send(tab, type="ping")
        codes.append((await receive(tab))["code"])
    assert codes == ["rate_limited"] * 10
    await send(tab, type="ping")
    assert await closed_with(tab) == CloseCode.RATE_LIMITED
    # The contact's budget is spent, but its other tab stays open.
    assert (await error_for(neighbour, type="ping"))["code"] == "rate_limited"
    await neighbour.disconnect()


async def test_a_crash_in_a_handler_costs_one_frame_not_the_socket(tab, monkeypatch):
    from chatwidget.consumers.visitor import VisitorConsumer

    async def broken(self, frame):
        raise RuntimeError("bug")

    monkeypatch.setattr(VisitorConsumer, "typing", broken)
    error = await error_for(tab, type="typing", conversationId=1)
    assert error["code"] == "server_error"
    assert "bug" not in error["message"]
    await still_works(tab)
