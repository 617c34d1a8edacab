"""The widget in real Chromium shows every message across a Redis restart: the visitor's
page on worker A, an agent posting through worker B, redis-server killed and restarted
on its port between live messages. Zero missing, no duplicates, and a conversation closed
while Redis was down shows as closed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import launch_chromium, serve_static
from tests.browser.helpers import RECORDER_JS, bubbles, send, wait_bubble, wait_ready

from .browser import Browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from launch_chromium()


class Agent:
    """Ada, replying through the agent REST API of one worker."""

    def __init__(self, cookies: dict[str, str], server: Any) -> None:
        self.browser = Browser(cookies)
        self.server = server
        status, _ = self.browser.post(server.url, "/chatwidget/api/ping/")  # a CSRF cookie
        assert status == 200

    def reply(self, conversation_id: int, body: str) -> None:
        status, data = self.browser.post(
            self.server.url, f"/chatwidget/api/agent/conversations/{conversation_id}/messages/",
            {"body": body})
        assert status == 201, data

    def close(self, conversation_id: int) -> None:
        status, data = self.browser.post(
            self.server.url, f"/chatwidget/api/agent/conversations/{conversation_id}/close/")
        assert status == 200, data


CLOSED_NOTE_SHOWN = """() => {
    const note = document.querySelector('chatwidget-root').shadowRoot.querySelector('.cw-closed');
    return !!note && !note.hidden;
}"""


def is_resync(payload: str | bytes) -> bool:
    return json.loads(payload).get("type") == "resync"


def test_the_widget_shows_every_message_across_a_redis_restart(chromium, servers, site, redis):
    a, b = servers
    context = chromium.new_context(base_url=a.url)
    context.set_default_timeout(20_000)
    context.route("**/static/**", serve_static)
    context.add_init_script(RECORDER_JS)
    try:
        page = context.new_page()
        with page.expect_websocket() as opened:
            page.goto("/")
            wait_ready(page)
        socket = opened.value
        page.evaluate("chatwidget.open()")
        first = send(page, "hello from the widget")
        conversation_id = first["conversationId"]
        agent = Agent(site["agent_cookies"], b)
        expected = ["hello from the widget"]

        def reply(body: str) -> None:
            agent.reply(conversation_id, body)
            expected.append(body)

        reply("live before the restart")
        wait_bubble(page, "live before the restart")

        redis.stop()
        try:
            reply("sent while Redis is down")
            reply("also sent while Redis is down")
            agent.close(conversation_id)  # not a message: resume alone would not bring it
        finally:
            # Worker A's subscriber reconnects by itself and tells the page's socket.
            with socket.expect_event("framereceived", predicate=is_resync, timeout=30_000):
                redis.start()
        reply("live after the restart")

        for body in expected:
            wait_bubble(page, body)
        assert bubbles(page) == expected
        # The close the layer lost reached the widget too (a resync catches up on state).
        page.wait_for_function(CLOSED_NOTE_SHOWN)
        assert not socket.is_closed()  # recovered in place, without reconnecting
    finally:
        context.close()
