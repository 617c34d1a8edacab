"""Resume: a reconnecting socket gets exactly what it missed, in order, from the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async

from chatwidget import chat, resume
from chatwidget.models import Message

from . import sockets
from .sockets import receive, send, silent

pytestmark = pytest.mark.django_db(transaction=True)


async def send_and_ack(socket, conversation_id: int, body: str) -> dict:
    await send(socket, type="message.send", conversationId=conversation_id, body=body,
               clientId=f"c-{body}")
    while (frame := await receive(socket))["type"] != "message.ack":
        pass
    return frame["message"]


async def replayed(socket, after: int | None = None) -> tuple[list[dict], dict]:
    if after is not None:
        await send(socket, type="resume", after=after)
    messages = []
    while (frame := await receive(socket))["type"] != "resume.done":
        assert frame["type"] == "message.created", frame
        messages.append(frame)
    return messages, frame


async def test_visitor_resumes_exactly_the_agent_messages_it_missed(browser, agent_cookies):
    conversation_id = browser.conversation.pk
    tab = await sockets.visitor(browser.raw)
    inbox = await sockets.agent(agent_cookies)
    seen = await send_and_ack(tab, conversation_id, "before the drop")
    await tab.disconnect()

    sent = [await send_and_ack(inbox, conversation_id, f"missed {n}") for n in range(5)]

    tab = await sockets.visitor(browser.raw)
    messages, done = await replayed(tab, after=seen["id"])
    assert [m["message"] for m in messages] == sent
    assert all(m["conversationId"] == conversation_id for m in messages)
    assert done == {"type": "resume.done", "lastId": sent[-1]["id"], "more": False}
    assert await silent(tab)
    await tab.disconnect()
    await inbox.disconnect()


async def test_agent_resumes_exactly_the_visitor_messages_it_missed(browser, agent_cookies):
    conversation_id = browser.conversation.pk
    inbox = await sockets.agent(agent_cookies)
    tab = await sockets.visitor(browser.raw)
    seen = await send_and_ack(inbox, conversation_id, "hello")
    await inbox.disconnect()

    sent = [await send_and_ack(tab, conversation_id, f"while away {n}") for n in range(4)]

    inbox = await sockets.agent(agent_cookies)
    messages, done = await replayed(inbox, after=seen["id"])
    assert [m["message"] for m in messages] == sent
    assert done["lastId"] == sent[-1]["id"]
    await tab.disconnect()
    await inbox.disconnect()


async def test_after_in_the_url_replays_right_after_ready(browser, agent_cookies):
    inbox = await sockets.agent(agent_cookies)
    sent = [await send_and_ack(inbox, browser.conversation.pk, f"m{n}") for n in range(3)]

    tab = await sockets.visitor(browser.raw, path=f"/ws/chatwidget/?after={sent[0]['id']}")
    messages, done = await replayed(tab)
    assert [m["message"] for m in messages] == sent[1:]

    path = f"/ws/chatwidget/agent/?after={sent[1]['id']}"
    inbox2 = await sockets.agent(agent_cookies, path=path)
    messages, _ = await replayed(inbox2)
    assert [m["message"] for m in messages] == sent[2:]
    for socket in (tab, inbox, inbox2):
        await socket.disconnect()


async def test_resume_replays_only_the_contacts_own_messages(browser, other_browser,
                                                             agent_cookies):
    inbox = await sockets.agent(agent_cookies)
    mine = await send_and_ack(inbox, browser.conversation.pk, "for you")
    await send_and_ack(inbox, other_browser.conversation.pk, "for someone else")

    tab = await sockets.visitor(browser.raw)
    messages, _ = await replayed(tab, after=0)
    assert [m["message"] for m in messages] == [mine]
    await tab.disconnect()
    await inbox.disconnect()


async def test_a_long_absence_is_replayed_in_pages(settings, browser, agent_cookies):
    settings.CHATWIDGET = {"RESUME_LIMIT": 2}
    inbox = await sockets.agent(agent_cookies)
    sent = [await send_and_ack(inbox, browser.conversation.pk, f"m{n}") for n in range(5)]
    tab = await sockets.visitor(browser.raw)

    pages, after = [], 0
    while True:
        messages, done = await replayed(tab, after=after)
        pages.append([m["message"]["id"] for m in messages])
        after = done["lastId"]
        if not done["more"]:
            break
    assert pages == [[m["id"] for m in sent[0:2]], [m["id"] for m in sent[2:4]],
                     [sent[4]["id"]]]
    # The inbox can also resume a single conversation.
    while not await inbox.receive_nothing(0.1):
        await inbox.receive_from()  # the live copies of its own messages
    await send(inbox, type="resume", after=0, conversationId=browser.conversation.pk)
    messages, done = await replayed(inbox)
    assert [m["message"]["id"] for m in messages] == [m["id"] for m in sent[:2]]
    assert done["more"] is True
    await tab.disconnect()
    await inbox.disconnect()


async def test_on_databases_that_commit_ids_out_of_order_resume_overlaps(
    browser, agent, monkeypatch
):
    """PostgreSQL: a message with a lower id may commit after the client saw a higher one.

    Resume then also replays the late-commit window below ``after``; clients de-duplicate
    by id. Messages well before the window are not repeated.
    """
    monkeypatch.setattr(resume, "ids_commit_in_order", lambda: False)

    def make_messages():
        old = chat.post_agent_message(agent, browser.conversation, "long ago").message
        Message.objects.filter(pk=old.pk).update(
            created_at=old.created_at - resume.LATE_COMMIT_WINDOW - timedelta(seconds=5)
        )
        late = chat.post_agent_message(agent, browser.conversation, "committed late").message
        seen = chat.post_agent_message(agent, browser.conversation, "seen").message
        after = chat.post_agent_message(agent, browser.conversation, "missed").message
        return old, late, seen, after

    old, late, seen, missed = await sync_to_async(make_messages)()
    tab = await sockets.visitor(browser.raw)
    messages, done = await replayed(tab, after=seen.pk)
    assert [m["message"]["id"] for m in messages] == [late.pk, seen.pk, missed.pk]
    assert done["lastId"] == missed.pk
    await tab.disconnect()
