"""A site not served by Django embeds the widget: pages on a second local origin (a tiny
http.server on another port) load the documented snippet, or import the headless core
and draw their own UI, talking to the Django site with a bearer token."""

from __future__ import annotations

import functools
import http.server
import json
import re
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import STATIC_DIR
from .helpers import (
    DOCS,
    agent_reply,
    callbacks,
    contact,
    send,
    wait_bubble,
    wait_event,
    wait_new_contact,
    wait_ready,
)


def documented_block(marker: str) -> str:
    text = DOCS.read_text()
    match = re.search(r"```html\n(.*?)```", text[text.index(f"<!-- {marker} -->"):], re.S)
    assert match, f"docs/sdk.md lost its {marker} block"
    return match.group(1)


class Origin:
    """A static http.server on another loopback address: another origin (and host) than
    the Django site, whose ALLOWED_HOSTS are 127.0.0.1 and localhost on any port."""

    def __init__(self, host: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="chatwidget-origin-"))

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

        handler = functools.partial(Quiet, directory=str(self.root))
        self.server = http.server.ThreadingHTTPServer((host, 0), handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page(self, name: str, body: str) -> str:
        (self.root / name).write_text(f"<!doctype html><html lang=\"en\"><head>"
                                      f"<meta charset=\"utf-8\"><title>{name}</title></head>"
                                      f"<body>{body}</body></html>")
        return f"{self.url}/{name}"

    def stop(self) -> None:
        self.server.shutdown()


def allow_origin(site, origin: str | None) -> None:
    """Set the default widget's allowed_origins (the admin's field) in the site's database."""
    connection = sqlite3.connect(site.db_path, timeout=10)
    with connection:
        connection.execute("UPDATE chatwidget_widget SET allowed_origins = ? WHERE app_id = ?",
                           (json.dumps([origin] if origin else []), "default"))
    connection.close()


@pytest.fixture
def shop(site) -> Iterator[Origin]:
    origin = Origin("127.0.0.2")
    allow_origin(site, origin.url)
    yield origin
    allow_origin(site, None)
    origin.stop()


def serve_static_with_cors(route) -> None:
    """The static files as WhiteNoise serves them: with CORS, as module scripts need."""
    relative = route.request.url.split("/static/", 1)[1].split("?", 1)[0]
    path = (STATIC_DIR / relative).resolve()
    if STATIC_DIR not in path.parents or not path.is_file():
        route.fulfill(status=404, body="not found")
        return
    route.fulfill(path=str(path), headers={"Access-Control-Allow-Origin": "*"})


def embed_context(new_context, site, **options):
    context = new_context(**options)
    context.route(f"{site.url}/static/**", serve_static_with_cors)
    return context


def snippet(site) -> str:
    return documented_block("cross-origin-snippet").replace("https://support.example", site.url)


def open_embed(context, url: str):
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(url)
    wait_ready(page)
    return page


def stored_tokens(context) -> dict[str, list[str]]:
    """Every origin's chatwidget token entries in localStorage (Playwright's storage state)."""
    found = {}
    for origin in context.storage_state()["origins"]:
        keys = [item["name"] for item in origin["localStorage"] if item["name"].endswith(":token")]
        if keys:
            found[origin["origin"]] = keys
    return found


def test_the_snippet_chats_from_another_origin_with_a_bearer_token(new_context, site, shop,
                                                                  agent):
    context = embed_context(new_context, site)
    page = open_embed(context, shop.page("shop.html", snippet(site)))
    message = send(page, "hello from the shop")
    wait_event(page, "onNewConversation")
    page.wait_for_function("() => window.__sockets.at(-1).readyState === 1")
    agent_reply(agent, message["conversationId"], "hello, shop visitor")
    wait_event(page, "onMessage")
    page.evaluate("chatwidget.open()")
    wait_bubble(page, "hello, shop visitor")

    # The token lives in the shop origin's storage only: no cookie, nothing on Django's origin.
    assert stored_tokens(context) == {shop.url: ["chatwidget:default:token"]}
    assert [c for c in context.cookies() if c["name"] == "chatwidget"] == []
    token = page.evaluate("JSON.parse(localStorage.getItem('chatwidget:default:token'))")
    assert all(token not in url for url in page.evaluate("window.__sockets.map((s) => s.url)"))
    assert page.errors == []


def test_an_origin_the_widget_does_not_list_is_refused(new_context, site, shop):
    stranger = Origin("127.0.0.3")  # not in allowed_origins
    try:
        context = embed_context(new_context, site)
        page = context.new_page()
        page.goto(stranger.page("stranger.html", snippet(site)))
        wait_event(page, "onError")
        (error,) = callbacks(page, "onError")
        assert error["args"][0]["type"] == "network_error"
        assert page.evaluate("window.__ready") is False
        assert page.locator("chatwidget-root").count() == 0  # no widget drawn
        assert page.evaluate("window.__sockets.length") == 0
        assert stored_tokens(context) == {}
    finally:
        stranger.stop()


def test_logout_resets_every_tab_of_the_embedding_origin(new_context, site, shop):
    context = embed_context(new_context, site)
    url = shop.page("shop.html", snippet(site))
    tab1 = open_embed(context, url)
    send(tab1, "before logout")
    tab2 = open_embed(context, url)
    old = contact(tab2)
    assert old["id"] == contact(tab1)["id"]  # one identity for the origin's tabs

    result = tab1.evaluate("chatwidget.logout()")
    assert result == {}
    wait_event(tab2, "onLogout")
    assert wait_new_contact(tab2, old["id"])["identified"] is False
    # Both tabs end on one new visitor (a tab that pinged first joins the other's token).
    tab1.wait_for_function(
        """(tab2) => window.__pings.at(-1).contact.id === tab2""", arg=contact(tab2)["id"])
    tab2.wait_for_function(
        """(tab1) => window.__pings.at(-1).contact.id === tab1""", arg=contact(tab1)["id"])
    fresh = contact(tab1)
    assert fresh["id"] != old["id"] and contact(tab2)["id"] == fresh["id"]
    (row,) = site.query("SELECT COUNT(*) AS n FROM chatwidget_widgettoken t JOIN "
                        "chatwidget_contact c ON c.id = t.contact_id WHERE c.id = ? AND "
                        "t.revoked_at IS NULL", old["id"])
    assert row["n"] == 0  # the old token was revoked on the server
    assert tab1.errors == [] and tab2.errors == []


def test_the_documented_own_ui_example_chats_through_the_headless_core(new_context, site, shop,
                                                                       agent):
    example = documented_block("own-ui-example").replace("https://support.example", site.url)
    context = embed_context(new_context, site, recorder=False)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(shop.page("own-ui.html", example))
    page.fill("#text", "sent from my own UI")
    page.click("#composer button")
    page.locator("#chat li", has_text="You: sent from my own UI").wait_for()
    assert page.locator("chatwidget-root").count() == 0  # the core draws nothing itself
    (conversation_id,) = [row["id"] for row in site.query(
        "SELECT conversation_id AS id FROM chatwidget_message WHERE body = ?",
        "sent from my own UI")]
    agent_reply(agent, conversation_id, "answered in your UI")
    page.locator("#chat li", has_text="Ada: answered in your UI").wait_for()
    assert page.locator("#chat li").all_inner_texts() == [
        "You: sent from my own UI", "Ada: answered in your UI"]
    assert errors == []


def test_identify_with_user_hash_is_the_identity_path_on_another_origin(new_context, site, shop):
    context = embed_context(new_context, site)
    page = open_embed(context, shop.page("shop.html", snippet(site)))
    send(page, "asked before identify")
    anonymous = contact(page)
    before = page.evaluate("JSON.parse(localStorage.getItem('chatwidget:default:token'))")

    login = page.evaluate("(hash) => chatwidget.identify('shop-customer-7', { userHash: hash })",
                          site.user_hash("shop-customer-7"))
    assert login["externalId"] == "shop-customer-7" and login["identified"] is True
    wait_event(page, "onLogin")
    identified = wait_new_contact(page, anonymous["id"])
    assert identified["identified"] is True
    after = page.evaluate("JSON.parse(localStorage.getItem('chatwidget:default:token'))")
    assert after and after != before  # rotated, and kept in the shop origin's storage
    page.evaluate("chatwidget.open()")
    wait_bubble(page, "asked before identify")  # the anonymous history came along
    page.wait_for_function("() => window.__sockets.at(-1).readyState === 1")
    assert page.errors == []
