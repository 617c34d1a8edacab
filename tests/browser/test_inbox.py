"""The agent inbox in the admin, driven like agents and visitors use it: one browser
context per agent and one per visitor, against the live ASGI server.

Every wait is for an element, a frame or a condition; none sleeps.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import HOSTILE_NAME, STATIC_DIR
from .helpers import agent_login, send, shadow_eval, wait_bubble

INBOX = "/admin/chatwidget/inbox/"
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"

# A 1×1 PNG: enough for the widget and the inbox to preview an image.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2b1"
    "5e4e0000000049454e44ae426082"
)

EXTRA_USERS = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
User = get_user_model()
perm = Permission.objects.get(codename="use_inbox")
bea = User.objects.create_user("bea", password="pw-bea-123", is_staff=True, first_name="Bea")
bea.user_permissions.add(perm)
User.objects.create_user("staffer", password="pw-staffer-123", is_staff=True)
dpo = User.objects.create_user("dpo", password="pw-dpo-123", is_staff=True, first_name="Dora")
dpo.user_permissions.add(perm, Permission.objects.get(codename="erase_contact"))
"""


def serve_static(route: Any) -> None:
    """The app's static files and the admin's (the inbox page wears the admin's CSS)."""
    import django

    relative = route.request.url.split("/static/", 1)[1].split("?", 1)[0]
    admin_static = Path(django.__file__).parent / "contrib" / "admin" / "static"
    for root in (STATIC_DIR, admin_static):
        path = (root / relative).resolve()
        if root in path.parents and path.is_file():
            route.fulfill(path=str(path))
            return
    route.fulfill(status=404, body="not found")


def run_on_site(site: Any, script: str) -> None:
    from tests.servers import manage

    manage("shell", "-c", script, env={"DATABASE_URL": f"sqlite:///{site.db_path}"})


@pytest.fixture(scope="module")
def users(site) -> None:
    if not site.query("SELECT id FROM auth_user WHERE username = 'bea'"):
        run_on_site(site, EXTRA_USERS)


@pytest.fixture
def contexts(browser, site) -> Iterator[Callable[..., Any]]:
    """Fresh contexts serving the app's static files (the admin's CSS and the inbox's JS)."""
    made = []

    def make(*, username: str | None = None, width: int = 1440, height: int = 900,
             color_scheme: str = "light") -> Any:
        context = browser.new_context(base_url=site.url, color_scheme=color_scheme,
                                      viewport={"width": width, "height": height})
        # Waits end as soon as their condition holds; the limit only bounds a failure, and
        # a loaded two-core machine can take seconds to schedule a server and a browser.
        context.set_default_timeout(20_000)
        context.route("**/static/**", serve_static)
        made.append(context)
        if username:
            agent_login(context, username, f"pw-{username}-123")
        return context

    yield make
    for context in made:
        context.close()


def open_inbox(context: Any, path: str = INBOX) -> Any:
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(path)
    page.locator(".cw-presence.is-online").wait_for()
    return page


def row(page: Any, conversation_id: int) -> Any:
    return page.get_by_role("listbox", name="Conversations").locator(
        f'[role="option"][data-id="{conversation_id}"]')


def visitor(contexts: Callable[..., Any]) -> tuple[Any, list[dict[str, Any]]]:
    """A visitor's tab on the demo site, with every frame its sockets received."""
    from .helpers import RECORDER_JS

    context = contexts()
    context.add_init_script(RECORDER_JS)
    context.add_init_script(FRAME_RECORDER)
    frames: list[dict[str, Any]] = []

    def watch(socket: Any) -> None:
        socket.on("framereceived", lambda payload: frames.append(json.loads(payload)))

    page = context.new_page()
    page.on("websocket", watch)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto("/")
    page.wait_for_function("() => window.__ready === true")
    return page, frames


# Every frame the visitor's sockets receive, readable in the page for wait_for_function.
FRAME_RECORDER = """(() => {
    window.__frames = [];
    const Socket = window.WebSocket;
    window.WebSocket = class extends Socket {
        constructor(...args) {
            super(...args);
            this.addEventListener('message', (e) => {
                try { window.__frames.push(JSON.parse(e.data)); } catch (error) { /* binary */ }
            });
        }
    };
})();"""


def reply_box(page: Any) -> Any:
    return page.get_by_role("textbox", name="Reply")


# ---------------------------------------------------------------- the conversation loop


# The unread count the tab title shows ("(3) Inbox | …"), 0 without one.
TITLE_COUNT = ("() => { const m = document.title.match(/^\\((\\d+)\\) /); "
               "return m ? Number(m[1]) : 0; }")


def test_a_visitor_first_message_appears_live_and_opens_by_keyboard(contexts, site, users):
    inbox = open_inbox(contexts(username="agent"))
    # Earlier tests of the session may have left unread conversations: count from there,
    # once the list has loaded (rows, or the empty state).
    inbox.wait_for_function("""() => document.querySelector('[role=listbox] [role=option]')
        || !document.querySelector('.cw-list-empty').hidden""")
    before = inbox.evaluate(TITLE_COUNT)
    page, _ = visitor(contexts)
    conversation_id = send(page, "Hello, is my order shipped?")["conversationId"]

    item = row(inbox, conversation_id)
    item.wait_for()
    assert "Hello, is my order shipped?" in item.inner_text()
    item.locator(".cw-unread", has_text="1").wait_for()
    inbox.wait_for_function(f"() => ({TITLE_COUNT})() > {before}")
    with_it = inbox.evaluate(TITLE_COUNT)

    # j/k move through the list and Enter opens; the newest row is the first.
    inbox.locator("body").click(position={"x": 5, "y": 5})
    inbox.keyboard.press("k")
    assert inbox.evaluate("document.activeElement.dataset.id") == str(conversation_id)
    inbox.keyboard.press("Enter")
    inbox.locator(".cw-log .cw-msg-body", has_text="Hello, is my order shipped?").wait_for()
    assert inbox.url.endswith(f"{INBOX}{conversation_id}/")
    # Opening it read it: the count goes, in this inbox and in the title.
    item.locator(".cw-unread").wait_for(state="detached")
    inbox.wait_for_function(f"() => ({TITLE_COUNT})() === {with_it - 1}")

    inbox.keyboard.press("r")
    assert inbox.evaluate("document.activeElement.getAttribute('aria-label')") == "Reply"
    inbox.keyboard.press("Escape")
    assert inbox.evaluate("document.activeElement.dataset.id") == str(conversation_id)

    # A deep link opens the same thread on a fresh page.
    again = open_inbox(inbox.context, f"{INBOX}{conversation_id}/")
    again.locator(".cw-log .cw-msg-body", has_text="Hello, is my order shipped?").wait_for()
    assert inbox.errors == [] and again.errors == [] and page.errors == []


def test_an_agent_reply_with_text_and_an_image_reaches_the_widget_live(contexts, site, users):
    page, _ = visitor(contexts)
    conversation_id = send(page, "Can you see my screenshot?")["conversationId"]
    page.evaluate("chatwidget.open()")
    inbox = open_inbox(contexts(username="agent"), f"{INBOX}{conversation_id}/")

    box = reply_box(inbox)
    box.fill("First line")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    box.press("Enter")
    wait_bubble(page, "First line\nsecond line")
    inbox.locator(".cw-msg.cw-from-agent .cw-msg-body", has_text="second line").wait_for()
    # The box empties once the send is acknowledged, which may come after the live echo.
    inbox.wait_for_function("() => document.querySelector('[aria-label=Reply]').value === ''")

    inbox.evaluate("""() => {
        window.__progressShown = false;
        const bar = document.querySelector('.cw-progress');
        new MutationObserver(() => { if (!bar.hidden) window.__progressShown = true; })
            .observe(bar, { attributes: true });
    }""")
    inbox.locator(".cw-composer input[type=file]").set_input_files(files=[
        {"name": "pixel.png", "mimeType": "image/png", "buffer": PNG},
    ])
    inbox.locator(".cw-chip-name", has_text="pixel.png").wait_for()
    box.fill("Here is the image")
    inbox.get_by_role("button", name="Send").click()
    wait_bubble(page, "Here is the image")
    page.wait_for_function("""() => [...document.querySelector('chatwidget-root').shadowRoot
        .querySelectorAll('.cw-msg img')].some((i) => i.alt === 'pixel.png'
                                                      && i.naturalWidth === 1)""")
    preview = inbox.locator(".cw-msg.cw-from-agent .cw-image img[alt='pixel.png']")
    preview.wait_for()
    inbox.wait_for_function(
        "() => document.querySelector(\".cw-image img[alt='pixel.png']\").naturalWidth === 1")
    assert inbox.evaluate("window.__progressShown") is True
    assert inbox.errors == [] and page.errors == []


def test_a_file_pasted_or_dropped_is_attached_and_downloadable(contexts, site, users):
    page, _ = visitor(contexts)
    conversation_id = send(page, "I will need the invoice")["conversationId"]
    page.evaluate("chatwidget.open()")
    inbox = open_inbox(contexts(username="agent"), f"{INBOX}{conversation_id}/")
    reply_box(inbox).wait_for()
    inbox.evaluate("""() => {
        const files = new DataTransfer();
        files.items.add(new File(['invoice body'], 'invoice.txt', { type: 'text/plain' }));
        const body = document.querySelector('.cw-thread-body');
        for (const type of ['dragenter', 'drop']) {
            body.dispatchEvent(new DragEvent(type,
                { dataTransfer: files, bubbles: true, cancelable: true }));
        }
        const pasted = new DataTransfer();
        pasted.items.add(new File(['terms'], 'terms.txt', { type: 'text/plain' }));
        document.querySelector('.cw-input').dispatchEvent(
            new ClipboardEvent('paste',
                { clipboardData: pasted, bubbles: true, cancelable: true }));
    }""")
    chips = inbox.locator(".cw-chip-name")
    assert chips.all_inner_texts() == ["invoice.txt", "terms.txt"]
    reply_box(inbox).press("Enter")
    link = inbox.locator(".cw-msg.cw-from-agent a.cw-file", has_text="invoice.txt")
    link.wait_for()
    assert link.get_attribute("download") == "invoice.txt"
    response = inbox.context.request.get(link.get_attribute("href"))
    assert response.ok and response.body() == b"invoice body"
    page.wait_for_function("""() => [...document.querySelector('chatwidget-root').shadowRoot
        .querySelectorAll('.cw-msg a')].some((a) => a.textContent.includes('invoice.txt'))""")
    assert inbox.errors == []


def test_typing_is_shown_both_ways(contexts, site, users):
    page, frames = visitor(contexts)
    conversation_id = send(page, "typing test")["conversationId"]
    page.evaluate("chatwidget.open()")
    inbox = open_inbox(contexts(username="agent"), f"{INBOX}{conversation_id}/")

    reply_box(inbox).press_sequentially("Let me ch")
    page.wait_for_function("""() => document.querySelector('chatwidget-root').shadowRoot
        .querySelector('.cw-typing').textContent === 'Ada is typing…'""")

    page.locator(".cw-input").press_sequentially("still there")
    inbox.locator(".cw-typing.is-active").wait_for()
    assert inbox.locator(".cw-typing").inner_text().endswith("is typing…")
    # The visitor's message ends their typing at once.
    page.locator(".cw-input").press("Enter")
    inbox.locator(".cw-log .cw-msg-body", has_text="still there").wait_for()
    inbox.wait_for_function("() => document.querySelector('.cw-typing').textContent === ''")
    assert any(f["type"] == "typing" and f["sender"]["kind"] == "agent" for f in frames)
    assert inbox.errors == [] and page.errors == []


def test_a_read_receipt_appears_when_the_visitor_reads(contexts, site, users):
    page, _ = visitor(contexts)
    conversation_id = send(page, "read receipt test")["conversationId"]
    inbox = open_inbox(contexts(username="agent"), f"{INBOX}{conversation_id}/")
    reply_box(inbox).fill("Did you see this?")
    reply_box(inbox).press("Enter")
    reply = inbox.locator(".cw-msg.cw-from-agent", has_text="Did you see this?")
    reply.wait_for()
    assert reply.locator(".cw-receipt").count() == 0  # the widget is closed: not read yet

    page.evaluate("chatwidget.open()")
    wait_bubble(page, "Did you see this?")
    reply.locator(".cw-receipt", has_text="Seen").wait_for()
    # Still there for a thread opened afterwards.
    later = open_inbox(inbox.context, f"{INBOX}{conversation_id}/")
    later.locator(".cw-msg.cw-from-agent", has_text="Did you see this?").locator(
        ".cw-receipt", has_text="Seen").wait_for()
    assert inbox.errors == [] and later.errors == []


def test_assign_and_close_by_one_agent_show_live_for_another_and_in_the_widget(
        contexts, site, users):
    page, frames = visitor(contexts)
    conversation_id = send(page, "Who will help me?")["conversationId"]
    ada = open_inbox(contexts(username="agent"), f"{INBOX}{conversation_id}/")
    bea = open_inbox(contexts(username="bea"), f"{INBOX}{conversation_id}/")
    bea_row = row(bea, conversation_id)
    bea_row.locator(".cw-assignee", has_text="Unassigned").wait_for()
    # Presence: Ada's open inbox makes her an online colleague in Bea's.
    online = bea.locator(".cw-agents-online", has_text="online")
    online.wait_for()
    assert "Ada" in online.get_attribute("title").split(", ")

    ada.get_by_role("button", name="Assign to me").click()
    ada.get_by_role("button", name="Assign to me").wait_for(state="hidden")
    bea_row.locator(".cw-assignee", has_text="Ada").wait_for()
    bea.locator(".cw-thread-assignee", has_text="Assigned to Ada").wait_for()

    # Ada hands it to Bea with the assignee menu: Bea sees it as hers, live.
    ada.get_by_role("combobox", name="Assignee").select_option(label="Bea")
    bea_row.locator(".cw-assignee", has_text="You").wait_for()
    bea.get_by_role("button", name="Assign to me").wait_for(state="hidden")
    ada.locator(".cw-thread-assignee", has_text="Assigned to Bea").wait_for()
    assert bea.get_by_role("combobox", name="Assignee").input_value() == str(
        site.query("SELECT id FROM auth_user WHERE username = 'bea'")[0]["id"])

    page.evaluate("chatwidget.open()")
    ada.get_by_role("button", name="Close conversation").click()
    bea.get_by_role("button", name="Reopen conversation").wait_for()
    bea.locator(".cw-status", has_text="Closed").wait_for()
    page.wait_for_function("""(id) => window.__frames.some((f) =>
        f.type === 'conversation.updated' && f.conversation.conversationId === id
        && f.conversation.ended === true)""", arg=conversation_id)
    # The visitor sees it closed, live, in the open thread.
    page.wait_for_function(CLOSED_NOTE_SHOWN)
    assert "closed" in page.evaluate(CLOSED_NOTE_TEXT)

    # Bea reopens it: live for Ada too, and the widget's note goes.
    bea.get_by_role("button", name="Reopen conversation").click()
    ada.get_by_role("button", name="Close conversation").wait_for()
    page.wait_for_function(f"() => !({CLOSED_NOTE_SHOWN})()")
    assert ada.errors == [] and bea.errors == [] and page.errors == []



def test_a_visitor_writing_to_a_closed_conversation_reopens_it_in_every_inbox(
        contexts, site, users):
    page, _ = visitor(contexts)
    conversation_id = send(page, "Thanks, that is all.")["conversationId"]
    ada = open_inbox(contexts(username="agent"), f"{INBOX}{conversation_id}/")
    bea = open_inbox(contexts(username="bea"))
    row(bea, conversation_id).wait_for()
    ada.get_by_role("button", name="Close conversation").click()
    ada.get_by_role("button", name="Reopen conversation").wait_for()
    # Bea's list shows open conversations: the closed one leaves it.
    row(bea, conversation_id).wait_for(state="detached")

    send(page, "Actually, one more question.")
    ada.get_by_role("button", name="Close conversation").wait_for()
    bea_row = row(bea, conversation_id)
    bea_row.locator(".cw-item-preview", has_text="one more question").wait_for()
    assert site.query(
        f"SELECT status FROM chatwidget_conversation WHERE id = {conversation_id}")[0][
        "status"] == "open"
    assert ada.errors == [] and bea.errors == [] and page.errors == []


def test_a_list_answered_before_a_live_close_does_not_show_it_open_again(
        contexts, site, users):
    page, _ = visitor(contexts)
    conversation_id = send(page, "Closing soon?")["conversationId"]
    ada = open_inbox(contexts(username="agent"), f"{INBOX}{conversation_id}/")
    # Bea's list of open conversations is read while it is still open, and answered only
    # after Ada's close has reached Bea's socket.
    context = contexts(username="bea")
    context.add_init_script(FRAME_RECORDER)
    held: list[tuple[Any, Any]] = []
    context.route(lambda url: "/conversations/?" in url and "filter=open" in url,
                  lambda route: held.append((route, route.fetch())))
    bea = open_inbox(context)
    while not held:
        bea.wait_for_timeout(20)  # lets Playwright run the route handler
    ada.get_by_role("button", name="Close conversation").click()
    bea.wait_for_function("""(id) => window.__frames.some((f) =>
        f.type === 'conversation.updated' && f.conversation.conversationId === id
        && f.conversation.status === 'closed')""", arg=conversation_id)
    route, stale = held[0]
    route.fulfill(response=stale)
    bea.wait_for_function("""() => document.querySelector('.cw-item')
        || !document.querySelector('.cw-list-empty').hidden""")  # the page is shown
    assert row(bea, conversation_id).count() == 0
    bea.get_by_role("button", name="Closed").click()
    row(bea, conversation_id).wait_for()
    assert ada.errors == [] and bea.errors == []

class SocketGap:
    """An agent socket that loses its live events as an overloaded or flaky server's would.

    ``reconnect`` drops the connection and holds the next one unanswered; ``early`` does
    the same to a socket whose baseline (its first ``pong``) never arrived, so the inbox
    cannot tell the server where to resume; ``resync`` keeps the connection but drops every
    frame from the server, then says ``resync`` as the server does when a socket's channel
    overflowed (docs/protocol.md).
    """

    def __init__(self, context: Any, how: str) -> None:
        self.how, self.open, self.live, self.held = how, True, [], []
        context.add_init_script(FRAME_RECORDER)
        context.route_web_socket(re.compile(r"/ws/chatwidget/agent/"), self.route)

    def route(self, ws: Any) -> None:
        if not self.open and self.how != "resync":
            self.held.append(ws)  # answered by nobody: no frame ever comes
            return
        first = not self.live
        server = ws.connect_to_server()
        server.on_message(lambda frame: ws.send(frame) if self.forwards(frame, first) else None)
        self.live.append(ws)

    def forwards(self, frame: str, first: bool) -> bool:
        if self.how == "early" and first and json.loads(frame).get("type") == "pong":
            return False
        return self.open

    def start(self, page: Any) -> None:
        if self.how != "early":  # the inbox knows where its live events start
            page.wait_for_function("() => window.__frames.some((f) => f.type === 'pong')")
        self.open = False
        if self.how != "resync":
            self.live[-1].close()
            page.locator(".cw-presence:not(.is-online)").wait_for()

    def end(self) -> None:
        self.open = True
        if self.how == "resync":
            self.live[-1].send(json.dumps({"type": "resync"}))
        for ws in self.held:
            ws.close()


@pytest.mark.parametrize("how", ["reconnect", "early", "resync"])
def test_after_a_gap_in_its_socket_an_inbox_shows_what_changed_meanwhile(
        contexts, site, users, how):
    """A message, an assignment and a close made while an agent's socket was away or
    behind all show once it is back: the replay brings back messages only when the socket
    knew where to resume from, and never a change of state."""
    first, _ = visitor(contexts)
    shown = send(first, "Who is on this?")["conversationId"]
    second, _ = visitor(contexts)
    other = send(second, "This one will be closed.")["conversationId"]
    context = contexts(username="bea")
    gap = SocketGap(context, how)
    bea = open_inbox(context, f"{INBOX}{shown}/")
    row(bea, other).wait_for()
    bea.locator(".cw-thread-assignee", has_text="Unassigned").wait_for()

    gap.start(bea)
    held: list[Any] = []
    context.route(lambda url: "/conversations/?" in url and "filter=open" in url,
                  lambda route: held.append(route))
    send(first, "Hello? Anyone?")
    ada = open_inbox(contexts(username="agent"), f"{INBOX}{shown}/")
    ada.get_by_role("button", name="Assign to me").click()
    ada.get_by_role("button", name="Assign to me").wait_for(state="hidden")
    closing = open_inbox(ada.context, f"{INBOX}{other}/")
    closing.get_by_role("button", name="Close conversation").click()
    closing.get_by_role("button", name="Reopen conversation").wait_for()
    assert site.query(f"SELECT status FROM chatwidget_conversation WHERE id = {other}")[0][
        "status"] == "closed"
    assert bea.locator(".cw-thread-assignee", has_text="Unassigned").is_visible()

    gap.end()
    bea.locator(".cw-presence.is-online").wait_for()
    if how != "early":
        # The list read after the gap is answered only once the replay has shown the
        # message sent during it: the replayed message must not keep the row's stale fields.
        bea.locator(".cw-msg", has_text="Hello? Anyone?").wait_for()
    while not held:
        bea.wait_for_timeout(20)  # lets Playwright run the route handler
    held[0].continue_()
    bea.locator(".cw-msg", has_text="Hello? Anyone?").wait_for()
    bea.locator(".cw-thread-assignee", has_text="Assigned to Ada").wait_for()
    row(bea, shown).locator(".cw-assignee", has_text="Ada").wait_for()
    row(bea, other).wait_for(state="detached")  # closed: out of the open conversations
    assert bea.errors == [] and ada.errors == [] and closing.errors == []


CLOSED_NOTE_SHOWN = """() => {
    const note = document.querySelector('chatwidget-root').shadowRoot.querySelector('.cw-closed');
    return !!note && !note.hidden;
}"""
CLOSED_NOTE_TEXT = """() => document.querySelector('chatwidget-root').shadowRoot
    .querySelector('.cw-closed').textContent"""


def test_the_widget_says_whether_an_agent_is_online_or_when_one_answers(contexts, site,
                                                                        users):
    run_on_site(site, REPLY_TIME.format(text="We usually answer within a day."))
    try:
        ping_shows(contexts, reply_time="We usually answer within a day.", online=False)
        page, _ = visitor(contexts)
        page.evaluate("chatwidget.open()")
        page.wait_for_function(PRESENCE_IS, arg="We usually answer within a day.")

        open_inbox(contexts(username="agent"))  # an agent with the inbox open is online
        later, _ = visitor(contexts)
        later.evaluate("chatwidget.open()")
        later.wait_for_function(PRESENCE_IS, arg="We are online")
    finally:
        run_on_site(site, REPLY_TIME.format(text=""))


PRESENCE_IS = """(text) => {
    const p = document.querySelector('chatwidget-root').shadowRoot.querySelector('.cw-presence');
    return !!p && p.textContent === text;
}"""


def ping_shows(contexts: Callable[..., Any], *, reply_time: str, online: bool) -> None:
    """Wait until the server's ping shows what another process wrote: a worker remembers
    whether an agent is online for a couple of seconds (docs/deploy.md)."""
    probe = contexts().new_page()
    probe.goto("/")
    probe.wait_for_function(PING_SHOWS, arg=[reply_time, online], polling=200)


PING_SHOWS = """async ([replyTime, online]) => {
    const response = await fetch('/chatwidget/api/ping/', {
        method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'});
    const widget = (await response.json()).widget;
    return widget.replyTime === replyTime && widget.agentsOnline === online;
}"""


# No agent online (earlier tests' inboxes are gone), and the widget's reply-time text.
REPLY_TIME = """
from chatwidget import identity
from chatwidget.models import AgentPresence
AgentPresence.objects.all().delete()
widget = identity.get_widget()
widget.reply_time = {text!r}
widget.save()
"""


# ---------------------------------------------------------------- finding conversations

MANY = """
from datetime import timedelta
from django.utils import timezone
from chatwidget import identity
from chatwidget.models import Contact, Conversation, Message

widget = identity.get_widget()
now = timezone.now() - timedelta(days=2)
for i in range(40):
    contact = Contact.objects.create(widget=widget, name=f"Paging {i:02d}",
                                     email=f"paging{i}@example.com")
    closed = i % 10 == 0
    conversation = Conversation.objects.create(widget=widget, contact=contact,
                                               status="closed" if closed else "open")
    at = now + timedelta(minutes=i)
    Message.objects.create(conversation=conversation, contact=contact, sender_kind="contact",
                           body=f"needle-{i:02d} in a haystack", created_at=at)
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=at, last_message_at=at)
long = Conversation.objects.create(widget=widget, contact=Contact.objects.create(
    widget=widget, name="Long thread"))
for i in range(75):
    Message.objects.create(conversation=long, contact=long.contact, sender_kind="contact",
                           body=f"line {i:02d}", created_at=now + timedelta(seconds=i))
Conversation.objects.filter(pk=long.pk).update(updated_at=now - timedelta(days=1))
print(long.pk)
"""


@pytest.fixture(scope="module")
def many(site, users) -> int:
    from tests.servers import manage

    out = manage("shell", "-c", MANY, env={"DATABASE_URL": f"sqlite:///{site.db_path}"})
    return int(out.stdout.strip().splitlines()[-1])


def test_filters_search_and_paging_run_on_the_server(contexts, site, many):
    inbox = open_inbox(contexts(username="agent", height=700))
    listbox = inbox.get_by_role("listbox", name="Conversations")
    names = listbox.locator(".cw-item-name")

    inbox.get_by_role("searchbox", name="Search conversations").fill("needle-1")
    listbox.locator(".cw-item-name", has_text="Paging 19").wait_for()
    # Open conversations only (the default filter): needle-10 is closed.
    inbox.wait_for_function("() => document.querySelectorAll('.cw-item').length === 9")
    assert sorted(names.all_inner_texts()) == [f"Paging {i}" for i in range(11, 20)]

    inbox.get_by_role("button", name="Closed").click()
    inbox.wait_for_function("""() => [...document.querySelectorAll('.cw-item-name')]
        .map((n) => n.textContent).join() === 'Paging 10'""")
    inbox.get_by_role("button", name="All").click()
    inbox.wait_for_function("() => document.querySelectorAll('.cw-item').length === 10")

    # Without a search, the list comes 30 rows a page; scrolling to the end loads more.
    inbox.get_by_role("searchbox", name="Search conversations").fill("")
    inbox.wait_for_function("() => document.querySelectorAll('.cw-item').length === 30")
    listbox.locator(".cw-item").last.scroll_into_view_if_needed()
    inbox.wait_for_function("() => document.querySelectorAll('.cw-item').length > 30")
    ids = [int(i) for i in listbox.locator(".cw-item").evaluate_all(
        "(items) => items.map((i) => i.dataset.id)")]
    assert len(ids) == len(set(ids))  # no row twice across pages
    assert inbox.errors == []


def test_older_messages_load_when_scrolling_up(contexts, site, many):
    inbox = open_inbox(contexts(username="agent"), f"{INBOX}{many}/")
    log = inbox.get_by_role("log", name="Messages")
    log.locator(".cw-msg-body", has_text="line 74").wait_for()
    assert log.locator(".cw-msg-body", has_text="line 00").count() == 0
    # Each scroll to the top loads one older page; the scroll event is sent explicitly, since
    # setting scrollTop to 0 when it already is 0 fires none.
    for _ in range(10):
        if log.locator(".cw-msg-body", has_text="line 00").count():
            break
        count = log.locator(".cw-msg").count()
        log.evaluate("(node) => { node.scrollTop = 0; node.dispatchEvent(new Event('scroll')); }")
        inbox.wait_for_function(
            "(n) => document.querySelectorAll('.cw-log .cw-msg').length > n", arg=count)
    log.locator(".cw-msg-body", has_text="line 00").wait_for(state="attached")
    bodies = log.locator(".cw-msg-body").all_inner_texts()
    assert bodies == [f"line {i:02d}" for i in range(75)]
    assert inbox.errors == []


def test_notifications_are_asked_for_on_click_and_remembered_per_agent(contexts, site, users):
    context = contexts(username="agent")
    context.grant_permissions(["notifications"])
    context.add_init_script("""(() => {
        window.__notifications = [];
        window.__asked = 0;
        const Native = window.Notification;
        window.Notification = class {
            static get permission() { return Native.permission; }
            static requestPermission() { window.__asked += 1; return Native.requestPermission(); }
            constructor(title, options) { window.__notifications.push({ title, ...options }); }
        };
    })();""")
    inbox = open_inbox(context)
    assert inbox.evaluate("window.__asked") == 0  # never asked on its own
    button = inbox.get_by_role("button", name="Enable notifications")
    button.click()
    inbox.get_by_role("button", name="Notifications on").wait_for()
    assert inbox.evaluate("window.__asked") == 1
    agent_id = inbox.evaluate(
        "JSON.parse(document.getElementById('chatwidget-inbox-config').textContent).agent.id")
    assert inbox.evaluate(
        f"localStorage.getItem('chatwidget.inbox.notifications.{agent_id}')") == "on"

    # Looking at another conversation, a new one notifies.
    page, _ = visitor(contexts)
    send(page, "A brand new question")
    inbox.wait_for_function("() => window.__notifications.length === 1")
    assert inbox.evaluate("window.__notifications[0].title").startswith("New conversation")

    # Remembered for this agent on the next visit; not for another agent of this browser.
    again = open_inbox(context)
    again.get_by_role("button", name="Notifications on").wait_for()
    assert inbox.errors == [] and again.errors == []


# ---------------------------------------------------------------- agents only


def test_a_private_note_reaches_other_agents_live_and_never_the_visitor(contexts, site, users):
    page, frames = visitor(contexts)
    visitor_responses: list[str] = []
    page.on("response", lambda r: visitor_responses.append(r.text())
            if "/chatwidget/api/" in r.url and r.request.resource_type in ("fetch", "xhr")
            else None)
    conversation_id = send(page, "I need a refund")["conversationId"]
    page.evaluate("chatwidget.open()")
    ada = open_inbox(contexts(username="agent"), f"{INBOX}{conversation_id}/")
    bea = open_inbox(contexts(username="bea"), f"{INBOX}{conversation_id}/")

    secret = "Internal: VIP customer, refund approved"
    ada.get_by_role("button", name="Note").click()
    note_box = ada.get_by_role("textbox", name="Private note")
    note_box.fill(secret)
    note_box.press("Enter")
    ada.locator(".cw-msg.cw-note .cw-msg-body", has_text=secret).wait_for()
    bea_note = bea.locator(".cw-msg.cw-note", has_text=secret)
    bea_note.wait_for()
    assert "Private note" in bea_note.text_content()

    # A reply after the note is the barrier: once the visitor has it, the note had its chance.
    ada.get_by_role("button", name="Reply").click()
    reply_box(ada).fill("Your refund is on its way.")
    reply_box(ada).press("Enter")
    wait_bubble(page, "Your refund is on its way.")
    page.reload()
    page.wait_for_function("() => window.__ready === true")
    page.evaluate("chatwidget.open()")
    wait_bubble(page, "Your refund is on its way.")

    assert frames and not any(secret in json.dumps(f) for f in frames)
    assert not any(secret in json.dumps(f) for f in page.evaluate("window.__frames"))
    assert visitor_responses and not any(secret in text for text in visitor_responses)
    assert secret not in shadow_eval(page, "(root) => root.innerHTML")
    assert secret not in page.content()


def test_an_erased_contact_leaves_every_inbox_at_once(contexts, site, users):
    page, _ = visitor(contexts)
    conversation_id = send(page, "Please delete everything about me")["conversationId"]
    contact_id = page.evaluate("window.__pings.at(-1).contact.id")
    ada = open_inbox(contexts(username="agent"), f"{INBOX}{conversation_id}/")
    ada.locator(".cw-log .cw-msg-body", has_text="Please delete everything about me").wait_for()
    dpo_context = contexts(username="dpo")
    dpo = open_inbox(dpo_context)
    row(dpo, conversation_id).wait_for()

    csrf = next(c["value"] for c in dpo_context.cookies() if c["name"] == "csrftoken")
    response = dpo_context.request.post(f"/chatwidget/api/agent/contacts/{contact_id}/erase/",
                                        headers={"X-CSRFToken": csrf})
    assert response.ok, response.text()

    # Gone from the list of the agent who erased it and from the thread another agent had open.
    row(dpo, conversation_id).wait_for(state="detached")
    ada.get_by_role("status").filter(has_text="This conversation was erased").wait_for()
    assert row(ada, conversation_id).count() == 0
    assert "Please delete everything about me" not in ada.content()
    assert ada.url.endswith(INBOX)  # a reload does not try the erased conversation again
    assert ada.errors == [] and dpo.errors == []


def test_a_saved_reply_is_inserted_with_a_slash_shortcut(contexts, site, users):
    run_on_site(site, """
from chatwidget.models import SavedReply
SavedReply.objects.get_or_create(shortcut="shipping", defaults={
    "text": "Orders ship within 2 business days."})
""")
    page, _ = visitor(contexts)
    conversation_id = send(page, "When does it ship?")["conversationId"]
    inbox = open_inbox(contexts(username="agent"), f"{INBOX}{conversation_id}/")
    box = reply_box(inbox)
    box.press_sequentially("Hi! /ship")
    option = inbox.get_by_role("listbox", name="Saved replies").get_by_role("option")
    option.filter(has_text="/shipping").wait_for()
    box.press("Enter")  # picks the highlighted reply, does not send
    assert box.input_value() == "Hi! Orders ship within 2 business days."
    box.press("Enter")
    page.evaluate("chatwidget.open()")
    wait_bubble(page, "Hi! Orders ship within 2 business days.")
    assert inbox.errors == []


def test_staff_without_the_inbox_permission_get_403(contexts, site, users):
    page = contexts(username="staffer").new_page()
    response = page.goto(INBOX)
    assert response.status == 403
    assert page.goto(f"{INBOX}1/").status == 403
    admin_index = page.goto("/admin/")
    assert admin_index.ok and page.locator(f'a[href="{INBOX}"]').count() == 0
    # An agent finds it linked from the admin index.
    agent_page = contexts(username="agent").new_page()
    agent_page.goto("/admin/")
    agent_page.locator(f'a[href="{INBOX}"]').first.click()
    agent_page.get_by_role("listbox", name="Conversations").wait_for()


# ---------------------------------------------------------------- hostile content

HOSTILE = "<img src=x onerror=\"window.__pwned='{}'\">"


def test_hostile_payloads_render_as_inert_text(contexts, site, users):
    page, _ = visitor(contexts)
    # The contact's name through the REST call a site's own code could make.
    status = page.evaluate("""(h) => fetch('/chatwidget/api/attributes/', {
        method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json',
                  'X-CSRFToken': JSON.parse(window.__pings.at(-1).text).csrf_token},
        body: JSON.stringify({name: h.replace('{}', 'name'),
                              attributes: {plan: h.replace('{}', 'attribute')}}),
    }).then((r) => r.status)""", HOSTILE)
    assert status == 200
    conversation_id = send(page, HOSTILE.format("message"))["conversationId"]
    page.evaluate("""([id, h]) => chatwidget.describeConversation({conversationId: id,
        customAttributes: {order: h.replace('{}', 'custom attribute')}})""",
                  [conversation_id, HOSTILE])
    page.evaluate("""(h) => {
        const files = new DataTransfer();
        files.items.add(new File(['x'], h.replace('{}', 'file name').replace(/"/g, '') + '.txt',
                                 { type: 'text/plain' }));
        return chatwidget.sendMessage('file', { attachments: [...files.files] });
    }""", HOSTILE)
    # The page the visitor is on, as its ping reports it.
    status = page.evaluate("""(h) => fetch('/chatwidget/api/ping/', {
        method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json',
                  'X-CSRFToken': JSON.parse(window.__pings.at(-1).text).csrf_token},
        body: JSON.stringify({app_id: 'default', page_title: h.replace('{}', 'page title'),
                              page_url: 'javascript:alert(1)//' + h.replace('{}', 'page url')}),
    }).then((r) => r.status)""", HOSTILE)
    assert status == 200
    evil = open_inbox(contexts(username="evil"), f"{INBOX}{conversation_id}/")
    evil.get_by_role("button", name="Note").click()
    note_box = evil.get_by_role("textbox", name="Private note")
    note_box.fill(HOSTILE.format("note"))
    note_box.press("Enter")
    evil.locator(".cw-msg.cw-note .cw-msg-body", has_text="onerror").wait_for()
    evil.get_by_role("button", name="Reply").click()
    reply_box(evil).fill("reply from an agent with a hostile name")
    reply_box(evil).press("Enter")
    evil.locator(".cw-msg.cw-from-agent .cw-msg-name", has_text=HOSTILE_NAME).wait_for()

    ada = open_inbox(contexts(username="agent"), f"{INBOX}{conversation_id}/")
    ada.locator(".cw-file-name", has_text="file name").wait_for()
    ada.locator(".cw-contact-pane dd", has_text="custom attribute").wait_for()
    # The contact's own attributes come with the contact's details, a request of their own.
    ada.locator(".cw-contact-pane dd", has_text="__pwned='attribute'").wait_for()
    evil.locator(".cw-contact-pane dd", has_text="__pwned='attribute'").wait_for()
    for inbox in (evil, ada):
        inbox.locator(".cw-note .cw-msg-body", has_text="note").wait_for()
        text = inbox.locator(".cw-inbox").inner_text()
        for where in ("message", "name", "attribute", "custom attribute", "note", "page title"):
            assert HOSTILE.format(where) in text, where
        assert HOSTILE_NAME in text  # the agent's own name, on the reply
        assert inbox.locator(".cw-inbox a[href^='javascript']").count() == 0
        assert inbox.locator(".cw-inbox img[src='x'], .cw-inbox img[onerror]").count() == 0
        assert inbox.evaluate("window.__pwned") is None
        assert inbox.errors == []



# ---------------------------------------------------------------- screenshots

# A support desk mid-morning: the scenery for the screenshots in docs/inbox.md. The older
# conversations of the other tests are closed so the open list shows only these.
SCENE = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from chatwidget import identity
from chatwidget.models import Contact, Conversation, Message, Note

User = get_user_model()
ada, bea = User.objects.get(username="agent"), User.objects.get(username="bea")
alice = User.objects.get(username="alice")
widget = identity.get_widget()
Conversation.objects.update(status="closed")
Contact.objects.filter(widget=widget, user=alice).update(user=None)
now = timezone.now()
UA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0 Safari/537.36")
people = [
    ("Alice Martin", "alice@example.com", alice, {"plan": "Business", "seats": 12},
     {"order": "#A-10293"}, "https://shop.example.com/orders/10293", "Order #10293", None, 1, [
        ("contact", "Hi! My order #10293 says delivered but nothing arrived.", 14),
        ("agent", "Sorry to hear that, Alice. Let me check with the carrier.", 12),
        ("note", "Carrier confirms a misroute; reship approved by Bea.", 10),
        ("contact", "Thanks. Could you send it to my office address instead?", 3),
        ("contact", "It's 5 Rue de Rivoli, Paris.", 2)]),
    ("Jonas Berg", "jonas@berg.dev", None, {"plan": "Free"}, {}, "https://example.com/pricing",
     "Pricing", ada, 0, [
        ("contact", "Does the Pro plan include SSO?", 40),
        ("agent", "It does: SAML and OIDC, set up from the admin.", 35)]),
    ("", "", None, {}, {}, "https://example.com/docs/install", "Install guide", None, 2, [
        ("contact", "The install script fails on step 3 with a permission error", 6),
        ("contact", "I am on Ubuntu 24.04", 5)]),
    ("Priya Natarajan", "priya@acme.io", None, {"plan": "Enterprise", "account": "ACME"},
     {"ticket": "ENG-4412"}, "https://app.example.com/settings/billing", "Billing", bea, 0, [
        ("contact", "Can we get an invoice with our VAT number on it?", 95),
        ("agent", "Of course, I have re-issued it. You will find it under Billing.", 80)]),
    ("Marco Rossi", "marco@rossi.it", None, {"locale": "it"}, {}, "https://example.com/",
     "Home", None, 1, [("contact", "Ciao! Do you ship to Italy?", 190)]),
]
for name, email, user, attrs, custom, url, title, assignee, unread, lines in people:
    contact = Contact.objects.create(widget=widget, name=name, email=email, user=user,
                                     attributes=attrs, page_url=url, page_title=title,
                                     user_agent=UA)
    conversation = Conversation.objects.create(
        widget=widget, contact=contact, custom_attributes=custom, assignee=assignee,
        agent_unread_count=unread)
    for kind, body, minutes_ago in lines:
        at = now - timedelta(minutes=minutes_ago)
        if kind == "note":
            Note.objects.create(conversation=conversation, author=bea, body=body, created_at=at)
            continue
        Message.objects.create(conversation=conversation, contact=contact, sender_kind=kind,
                               sender_user=ada if kind == "agent" else None, body=body,
                               created_at=at)
    replies = conversation.messages.filter(sender_kind="agent").order_by("id")
    Conversation.objects.filter(pk=conversation.pk).update(
        created_at=now - timedelta(minutes=lines[0][2]), updated_at=at, last_message_at=at,
        contact_last_read_id=replies.last().pk if replies else 0)
print(Conversation.objects.get(contact__name="Alice Martin").pk)
"""


def test_screenshots_of_the_inbox_in_light_and_dark(contexts, site, users, screenshots_dir):
    from tests.servers import manage

    out = manage("shell", "-c", SCENE, env={"DATABASE_URL": f"sqlite:///{site.db_path}"})
    conversation_id = int(out.stdout.strip().splitlines()[-1])
    # docs/inbox.md shows these; CHATWIDGET_UPDATE_DOCS_IMAGES=1 refreshes its copies, so an
    # ordinary run never rewrites tracked files.
    update_docs = os.environ.get("CHATWIDGET_UPDATE_DOCS_IMAGES") == "1"
    for width, height in ((1440, 900), (1024, 768)):
        for scheme in ("light", "dark"):
            inbox = open_inbox(contexts(username="agent", width=width, height=height,
                                        color_scheme=scheme), f"{INBOX}{conversation_id}/")
            inbox.locator(".cw-log .cw-msg-body", has_text="Rue de Rivoli").wait_for()
            inbox.locator(".cw-contact-pane dd", has_text="Chrome 131").wait_for()
            assert inbox.get_by_role("listbox", name="Conversations").get_by_role(
                "option").count() == 5
            reply_box(inbox).fill("Done! Your parcel ships today to 5 Rue de Rivoli.")
            name = f"inbox-{width}-{scheme}.png"
            inbox.screenshot(path=str(screenshots_dir / name))
            assert (screenshots_dir / name).stat().st_size < 300_000
            if update_docs:
                DOCS_IMAGES.mkdir(exist_ok=True)
                shutil.copy(screenshots_dir / name, DOCS_IMAGES / name)
            assert inbox.errors == []
