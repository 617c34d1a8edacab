"""Scale-out: a visitor on worker A and an agent on worker B, one Redis, one PostgreSQL.

Real processes, real sockets, real servers: what a deployment with N workers does.
"""

from __future__ import annotations

import asyncio

from .browser import Browser, Socket
from .concurrency import visitor_with_conversation

VISITOR = "/ws/chatwidget/"
AGENT = "/ws/chatwidget/agent/"


async def tab_on_a_and_inbox_on_b(servers, site) -> tuple[Browser, int, Socket, Socket]:
    """A visitor's tab on worker A and the agent's inbox on worker B, both ready."""
    a, b = servers
    browser, conversation_id = await asyncio.to_thread(visitor_with_conversation, a)
    tab = await browser.socket(a.ws_url, VISITOR, origin=a.url)
    inbox = await Browser(site["agent_cookies"]).socket(b.ws_url, AGENT, origin=b.url)
    for socket in (tab, inbox):
        assert (await socket.receive())["type"] == "ready"
    return browser, conversation_id, tab, inbox


async def send_message(socket, conversation_id: int, body: str) -> dict:
    await socket.send(type="message.send", conversationId=conversation_id, body=body,
                      clientId=body)
    return (await socket.receive_type("message.ack"))["message"]


async def test_visitor_on_a_and_agent_on_b_talk_both_ways(servers, site):
    a, b = servers
    browser, conversation_id = await asyncio.to_thread(visitor_with_conversation, a)
    tab_a = await browser.socket(a.ws_url, VISITOR, origin=a.url)
    tab_b = await browser.socket(b.ws_url, VISITOR, origin=b.url)  # same browser, other worker
    inbox = await Browser(site["agent_cookies"]).socket(b.ws_url, AGENT, origin=b.url)
    for socket in (tab_a, tab_b, inbox):
        assert (await socket.receive())["type"] == "ready"

    sent = await send_message(tab_a, conversation_id, "hello from A")
    assert await inbox.receive_message(sent["id"]) == sent
    assert await tab_b.receive_message(sent["id"]) == sent

    reply = await send_message(inbox, conversation_id, "hello from B")
    assert reply["sender"] == {"kind": "agent", "name": "Ada"}
    assert await tab_a.receive_message(reply["id"]) == reply
    assert await tab_b.receive_message(reply["id"]) == reply
    assert (await tab_a.receive_type("unread"))["total"] == 1

    # The inbox shows the thread, so the visitor's typing on A reaches it on B.
    await inbox.send(type="watch", conversationIds=[conversation_id])
    assert (await inbox.receive_type("watching"))["conversationIds"] == [conversation_id]
    await tab_a.send(type="typing", conversationId=conversation_id)
    assert (await inbox.receive_type("typing"))["sender"]["kind"] == "contact"
    for socket in (tab_a, tab_b, inbox):
        await socket.close()


async def test_a_site_logout_on_a_closes_the_tab_on_b(servers):
    a, b = servers
    browser = Browser()
    # Log in on A as the site does (form POST with the CSRF token the ping handed out).
    await asyncio.to_thread(browser.post, a.url, "/chatwidget/api/ping/")
    status, _ = await asyncio.to_thread(
        browser.post, a.url, "/accounts/login/",
        {"username": "alice", "password": "pw-alice-123",
         "csrfmiddlewaretoken": browser.cookies["csrftoken"]}, form=True,
    )
    assert status == 302 and "sessionid" in browser.cookies
    old_cookies = dict(browser.cookies)
    tab_b = await browser.socket(b.ws_url, VISITOR, origin=b.url)
    assert (await tab_b.receive())["type"] == "ready"

    status, _ = await asyncio.to_thread(
        browser.post, a.url, "/accounts/logout/",
        {"csrfmiddlewaretoken": browser.cookies["csrftoken"]}, form=True,
    )

    assert status == 302
    assert "chatwidget" not in browser.cookies  # the logout response cleared it
    assert await tab_b.receive() == {"type": "logout"}
    assert await tab_b.close_code() == 4001
    stale = await Browser(old_cookies).socket(b.ws_url, VISITOR, origin=b.url)
    assert await stale.close_code() == 4401


async def test_a_redis_restart_loses_no_acknowledged_message(servers, site, redis):
    a, b = servers
    browser, conversation_id, tab, inbox = await tab_on_a_and_inbox_on_b(servers, site)
    first = await send_message(tab, conversation_id, "before the outage")
    assert await inbox.receive_message(first["id"]) == first
    visitor_seen = agent_seen = first["id"]

    redis.stop()
    acknowledged = []
    try:
        for n in range(3):
            acknowledged.append(await send_message(tab, conversation_id, f"visitor {n}"))
            acknowledged.append(await send_message(inbox, conversation_id, f"agent {n}"))
    finally:
        redis.start()

    # The visitor's tab reconnects (as after any drop) and resumes from what it saw; the
    # inbox stays connected, spots the gap with ping's lastId and resumes in place.
    await tab.close()
    tab = await browser.socket(a.ws_url, f"{VISITOR}?after={visitor_seen}", origin=a.url)
    assert (await tab.receive())["type"] == "ready"
    await inbox.send(type="ping")
    pong = await inbox.receive_type("pong")
    assert pong["lastId"] == acknowledged[-1]["id"] > agent_seen
    await inbox.send(type="resume", after=agent_seen)
    for socket in (tab, inbox):
        replayed = {}
        while (frame := await socket.receive())["type"] != "resume.done":
            if frame["type"] == "message.created":
                replayed[frame["message"]["id"]] = frame["message"]  # de-duplicate by id
        assert {m["id"] for m in acknowledged} <= set(replayed)
        # Anything else is the PostgreSQL late-commit window repeating what was seen.
        extra = set(replayed) - {m["id"] for m in acknowledged}
        assert all(message_id <= first["id"] for message_id in extra)
        for message in acknowledged:
            assert replayed[message["id"]] == message

    # Live delivery comes back by itself once each worker's subscriber has reconnected
    # (about a second); pub/sub drops what is published before that, resume covers it.
    for attempt in range(20):
        after = await send_message(tab, conversation_id, f"after the outage {attempt}")
        try:
            assert await inbox.receive_message(after["id"], timeout=1) == after
            break
        except TimeoutError:
            continue
    else:
        raise AssertionError("live delivery did not come back after the Redis restart")
    for socket in (tab, inbox):
        await socket.close()

