"""What the browser tests share: the in-page event recorder, the site, and small actions."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent.parent / "docs" / "sdk.md"


def documented_stub() -> str:
    """The queue stub exactly as docs/sdk.md tells sites to paste it."""
    text = DOCS.read_text()
    marker = text.index("<!-- queue-stub -->")
    match = re.search(r"```html\n<script>\n(.*?)</script>\n```", text[marker:], re.S)
    assert match, "docs/sdk.md lost its queue stub"
    return match.group(1)


EVENT_NAMES = [
    "onReady", "onChatOpened", "onChatClosed", "onNewConversation", "onConversationCreate",
    "onMessage", "onUnread", "onLogin", "onLogout", "onError",
]

# Installed before any page script (context.add_init_script): the documented stub, then
# recorder.js.
_RECORDER = (HERE / "recorder.js").read_text().replace("__EVENT_NAMES__", json.dumps(EVENT_NAMES))
RECORDER_JS = f"(() => {{\n{documented_stub()}\n{_RECORDER}\n}})();"


@dataclass
class Site:
    url: str
    db_path: Path
    server: Any

    def query(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        """Read the server's database directly (the server process owns the writes)."""
        connection = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        connection.row_factory = sqlite3.Row
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def user_hash(self, external_id: str, app_id: str = "default") -> str:
        (row,) = self.query("SELECT identity_secret FROM chatwidget_widget WHERE app_id = ?",
                            app_id)
        return hmac.new(row["identity_secret"].encode(), external_id.encode(),
                        hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- page actions


def open_page(context: Any, path: str = "/") -> Any:
    """A new tab on ``path``, waiting for onReady; page errors fail the test."""
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(path)
    wait_ready(page)
    return page


def wait_ready(page: Any) -> None:
    page.wait_for_function("() => window.__ready === true")


def wait_socket_ready(page: Any) -> None:
    """The page's widget socket is open and joined: server pushes reach it from now on."""
    page.wait_for_function(
        "() => window.__sockets.some((s) => s.__cwReady && s.readyState === WebSocket.OPEN)")


def callbacks(page: Any, event: str | None = None) -> list[dict[str, Any]]:
    found = page.evaluate("window.__cb")
    return [e for e in found if event is None or e["event"] == event]


def listeners(page: Any, event: str | None = None) -> list[dict[str, Any]]:
    found = page.evaluate("window.__ls")
    return [e for e in found if event is None or e["event"] == event]


def wait_event(page: Any, event: str, count: int = 1) -> None:
    """Until both the callback and the listener of ``event`` have fired ``count`` times."""
    page.wait_for_function(
        """([event, count]) =>
            window.__cb.filter((e) => e.event === event).length >= count &&
            window.__ls.filter((e) => e.event === event).length >= count""",
        arg=[event, count],
    )


def contact(page: Any) -> dict[str, Any]:
    """The contact of the tab's latest ping."""
    return page.evaluate("window.__pings.at(-1).contact")


def wait_new_contact(page: Any, old_id: int) -> dict[str, Any]:
    page.wait_for_function(
        "(old) => window.__pings.length && window.__pings.at(-1).contact.id !== old", arg=old_id)
    return contact(page)


def bubbles(page: Any) -> list[str]:
    """Texts of the message bubbles shown, the greeting excluded."""
    return page.locator(".cw-log .cw-msg:not(.cw-greeting) .cw-bubble").all_inner_texts()


def wait_bubble(page: Any, text: str) -> None:
    page.locator(".cw-log .cw-msg:not(.cw-greeting) .cw-bubble", has_text=text).first.wait_for()


def send(page: Any, text: str) -> dict[str, Any]:
    return page.evaluate("(text) => window.chatwidget.sendMessage(text)", text)


def site_login(page: Any, username: str, password: str) -> None:
    """Log in through the demo site's form, as a person would, and land on the home page."""
    page.goto("/accounts/login/?next=/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    wait_ready(page)


def agent_login(context: Any, username: str, password: str) -> None:
    page = context.new_page()
    page.goto("/accounts/login/?next=/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    page.close()


def agent_reply(agent: Any, conversation_id: int, body: str = "", files: list | None = None
                ) -> dict[str, Any]:
    """Post a reply as the agent through the agent REST API (session + CSRF)."""
    csrf = next(c["value"] for c in agent.cookies() if c["name"] == "csrftoken")
    url = f"/chatwidget/api/agent/conversations/{conversation_id}/messages/"
    headers = {"X-CSRFToken": csrf}
    if files:
        multipart: dict[str, Any] = {"body": body}
        for i, file in enumerate(files):  # Playwright's multipart takes one value per key
            multipart["files" if i == 0 else f"files{i}"] = file
        response = agent.request.post(url, multipart=multipart, headers=headers)
    else:
        response = agent.request.post(url, data={"body": body}, headers=headers)
    assert response.ok, response.text()
    return response.json()["message"]


def shadow_eval(page: Any, script: str, arg: Any = None) -> Any:
    """Evaluate ``script`` as ``(root, arg) => ...`` with the widget's shadow root."""
    return page.evaluate(
        f"([arg]) => ({script})(document.querySelector('chatwidget-root').shadowRoot, arg)",
        [arg],
    )
