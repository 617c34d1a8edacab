"""Overload never loses a delivery silently: a socket whose channel overflowed is told to
resync and recovers every message through resume (in-memory layer, real sockets)."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from chatwidget import chat, events

from . import sockets
from .sockets import receive, send, silent

pytestmark = pytest.mark.django_db(transaction=True)

CAPACITY = 5
BURST = 3 * CAPACITY


@pytest.fixture
def small_layer(settings):
    """Channels' capacity, small enough for one burst to overflow a socket's channel."""
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "chatwidget.layers.InMemoryChannelLayer",
        "CONFIG": {"capacity": CAPACITY},
    }}


def post_replies(agent, conversation, count: int) -> tuple[list[dict], list[events.Event]]:
    """Agent replies, committed; their events are returned unpublished."""
    messages, published = [], []
    for n in range(count):
        result = chat.post_agent_message(agent, conversation, f"reply {n}")
        published += result.events
        messages.append(next(e.payload["message"] for e in result.events
                             if e.type == events.MESSAGE_CREATED))
    return messages, published


async def burst(published: list[events.Event]) -> None:
    """Every event at once, as concurrent requests publish them: all of them reach the
    layer before the consumer gets a turn to read."""
    await asyncio.gather(*(events.apublish([event]) for event in published))


async def frames_until_quiet(socket) -> list[dict]:
    frames = []
    while not await silent(socket):
        frames.append(await receive(socket))
    return frames


def message_ids(frames: list[dict]) -> list[int]:
    return [f["message"]["id"] for f in frames if f["type"] == events.MESSAGE_CREATED]


async def test_an_overflowed_socket_is_told_to_resync_and_resume_recovers_every_message(
    small_layer, browser, agent
):
    tab = await sockets.visitor(browser.raw)
    sent, published = await sync_to_async(post_replies)(agent, browser.conversation, BURST)

    await burst(published)
    frames = await frames_until_quiet(tab)

    live = message_ids(frames)
    assert len(live) < BURST, "the burst did not overflow the channel"
    resyncs = [f for f in frames if f["type"] == events.RESYNC]
    assert len(resyncs) == 1
    # What the tab held when the resync arrived: the last message before it.
    position = frames.index(resyncs[0])
    held = message_ids(frames[:position])
    assert resyncs[0]["after"] == (max(held) if held else None)

    # The SDK resumes from before the gap and de-duplicates by id.
    await send(tab, type="resume", after=resyncs[0]["after"] or 0)
    replayed = []
    while (frame := await receive(tab))["type"] != "resume.done":
        if frame["type"] == events.MESSAGE_CREATED:
            replayed.append(frame["message"])
    recovered = {m["id"]: m for m in [f["message"] for f in frames
                                      if f["type"] == events.MESSAGE_CREATED] + replayed}
    assert sorted(recovered) == [m["id"] for m in sent]
    assert [recovered[m["id"]] for m in sent] == sent
    assert frame["lastId"] == sent[-1]["id"]
    await tab.disconnect()


async def test_a_socket_that_kept_up_is_not_told_to_resync(small_layer, browser, agent):
    tab = await sockets.visitor(browser.raw)
    # Each reply is two events for the tab (message.created, unread): within capacity.
    sent, published = await sync_to_async(post_replies)(agent, browser.conversation,
                                                        CAPACITY // 2)

    await burst(published)
    frames = await frames_until_quiet(tab)

    assert message_ids(frames) == [m["id"] for m in sent]
    assert events.RESYNC not in {f["type"] for f in frames}
    await tab.disconnect()


async def test_an_overflowed_agent_socket_is_told_to_resync_after_its_last_delivery(
    small_layer, browser, agent, agent_cookies
):
    inbox = await sockets.agent(agent_cookies)
    tab = await sockets.visitor(browser.raw)
    sent = []
    published = []
    for n in range(BURST):
        result = await sync_to_async(chat.post_contact_message)(
            browser.contact, browser.conversation.pk, f"visitor {n}", client_id=f"v{n}")
        published += result.events
        sent.append(result.message.pk)

    await burst(published)
    frames = await frames_until_quiet(inbox)

    resyncs = [f for f in frames if f["type"] == events.RESYNC]
    assert len(resyncs) == 1
    held = message_ids(frames[:frames.index(resyncs[0])])
    assert resyncs[0]["after"] == (max(held) if held else None)
    await send(inbox, type="resume", after=resyncs[0]["after"] or 0)
    replayed = []
    while (frame := await receive(inbox))["type"] != "resume.done":
        if frame["type"] == events.MESSAGE_CREATED:
            replayed.append(frame["message"]["id"])
    assert set(message_ids(frames)) | set(replayed) == set(sent)
    await inbox.disconnect()
    await tab.disconnect()


async def test_a_resync_reaches_below_an_older_message_dropped_after_a_newer_one_arrived(
    small_layer, browser, agent
):
    tab = await sockets.visitor(browser.raw)
    sent, published = await sync_to_async(post_replies)(agent, browser.conversation, BURST)
    newest = [e for e in published if e.payload.get("message", {}).get("id") == sent[-1]["id"]]
    # The newest reply's request published first; the older ones' burst in after it.
    await events.apublish(newest)
    assert (await receive(tab))["message"] == sent[-1]
    await burst([e for e in published if e not in newest])
    frames = await frames_until_quiet(tab)

    resyncs = [f for f in frames if f["type"] == events.RESYNC]
    assert len(resyncs) == 1
    assert resyncs[0]["after"] < sent[-1]["id"]
    await send(tab, type="resume", after=resyncs[0]["after"])
    replayed = set()
    while (frame := await receive(tab))["type"] != "resume.done":
        if frame["type"] == events.MESSAGE_CREATED:
            replayed.add(frame["message"]["id"])
    assert set(message_ids(frames)) | replayed | {sent[-1]["id"]} == {m["id"] for m in sent}
    await tab.disconnect()
