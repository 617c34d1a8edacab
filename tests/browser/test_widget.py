"""The widget a visitor sees: live replies, keyboard, attachments, reconnects, hostile
content, strict CSP, and screenshots of the layout."""

from __future__ import annotations

import re

import pytest

from .conftest import HOSTILE_GREETING, HOSTILE_NAME, HOSTILE_WIDGET_NAME
from .helpers import (
    agent_reply,
    bubbles,
    callbacks,
    open_page,
    send,
    shadow_eval,
    wait_bubble,
    wait_event,
    wait_ready,
)

ACTIVE_CLASS = "(root) => root.activeElement && root.activeElement.className"


def test_keyboard_chat_with_a_live_agent_reply(new_context, site, agent):
    page = open_page(new_context())
    launcher = page.locator(".cw-launcher")
    assert launcher.get_attribute("aria-label") == "Open chat"
    assert launcher.get_attribute("aria-expanded") == "false"

    launcher.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Support")
    dialog.wait_for()
    assert launcher.get_attribute("aria-expanded") == "true"
    assert shadow_eval(page, ACTIVE_CLASS) == "cw-input"  # focus moved to the message field
    page.keyboard.type("typed with the keyboard")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    page.keyboard.press("Enter")
    wait_bubble(page, "second line")
    assert bubbles(page) == ["typed with the keyboard\nsecond line"]
    wait_event(page, "onNewConversation")
    conversation_id = callbacks(page, "onConversationCreate")[0]["args"][0]["conversationId"]

    agent_reply(agent, conversation_id, "A live reply from Ada")
    wait_bubble(page, "A live reply from Ada")
    reply = page.locator(".cw-msg.cw-agent").last
    assert reply.locator(".cw-name").inner_text() == "Ada"
    wait_event(page, "onMessage")
    # Read while shown: no unread left behind.
    page.wait_for_function("() => chatwidget.getUnreadCount().total === 0")

    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert shadow_eval(page, ACTIVE_CLASS) == "cw-launcher"
    assert page.evaluate("chatwidget.isOpen()") is False
    assert page.errors == []


AGENT_SOCKET = """() => new Promise((resolve, reject) => {
    window.__agentFrames = [];
    const url = location.origin.replace(/^http/, 'ws') + '/ws/chatwidget/agent/';
    window.__agentSocket = new WebSocket(url);
    window.__agentSocket.onmessage = (e) => {
        const frame = JSON.parse(e.data);
        window.__agentFrames.push(frame);
        if (frame.type === 'ready') resolve();
    };
    window.__agentSocket.onclose = (e) => reject(new Error('agent socket closed ' + e.code));
})"""


def test_typing_is_shown_both_ways(new_context, site, agent):
    page = open_page(new_context())
    conversation_id = send(page, "is anyone there?")["conversationId"]
    page.evaluate("chatwidget.open()")
    inbox = agent.new_page()
    inbox.goto("/")
    inbox.evaluate(AGENT_SOCKET)
    try:
        # The agent shows this thread, so the visitor's typing reaches it; the frames
        # after this one on the socket are handled after it.
        inbox.evaluate("(id) => window.__agentSocket.send(JSON.stringify("
                       "{type: 'watch', conversationIds: [id]}))", conversation_id)
        inbox.evaluate("(id) => window.__agentSocket.send(JSON.stringify("
                       "{type: 'typing', conversationId: id, typing: true}))", conversation_id)
        typing = page.locator(".cw-typing")
        typing.filter(has_text="Ada is typing…").wait_for()
        assert typing.get_attribute("aria-live") == "polite"
        inbox.evaluate("(id) => window.__agentSocket.send(JSON.stringify("
                       "{type: 'typing', conversationId: id, typing: false}))", conversation_id)
        page.wait_for_function("""() => document.querySelector('chatwidget-root').shadowRoot
            .querySelector('.cw-typing').textContent === ''""")

        page.locator(".cw-input").press_sequentially("hel")
        inbox.wait_for_function("""(id) => window.__agentFrames.some((f) =>
            f.type === 'typing' && f.conversationId === id && f.typing === true
            && f.sender.kind === 'contact')""", arg=conversation_id)
    finally:
        inbox.close()
    assert page.errors == []


def test_attachments_from_the_picker_and_by_drag_and_drop(new_context, site):
    page = open_page(new_context())
    page.evaluate("chatwidget.open()")
    # Watch the progress bar appear while the upload runs.
    shadow_eval(page, """(root) => {
        window.__progressShown = false;
        const bar = root.querySelector('.cw-progress');
        new MutationObserver(() => { if (!bar.hidden) window.__progressShown = true; })
            .observe(bar, { attributes: true });
    }""")
    page.set_input_files(".cw-file", files=[
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"picked from the dialog"},
    ])
    shadow_eval(page, """(root) => {
        const files = new DataTransfer();
        files.items.add(new File(['dropped on the window'], 'dropped.txt', { type: 'text/plain' }));
        const win = root.querySelector('.cw-window');
        const drag = (type) => win.dispatchEvent(
            new DragEvent(type, { dataTransfer: files, bubbles: true, cancelable: true }));
        drag('dragenter');
        window.__dropShown = !root.querySelector('.cw-drop').hidden;
        drag('drop');
    }""")
    assert page.evaluate("window.__dropShown") is True
    chips = page.locator(".cw-files .cw-chip span")
    assert chips.all_inner_texts() == ["notes.txt", "dropped.txt"]
    remove = page.locator(".cw-chip .cw-remove").first
    assert remove.get_attribute("aria-label") == "Remove notes.txt"
    page.fill(".cw-input", "two files")
    page.click(".cw-send")

    wait_event(page, "onNewConversation")
    (event,) = callbacks(page, "onNewConversation")
    message, attachments = event["args"]
    assert message == "two files"
    assert [a["name"] for a in attachments] == ["notes.txt", "dropped.txt"]
    assert all(set(a) == {"name", "url", "size", "content_type"} for a in attachments)
    assert attachments[0]["content_type"] == "text/plain" and attachments[0]["size"] == 22
    links = page.locator(".cw-msg.cw-contact .cw-atts a")
    links.first.wait_for()
    assert links.all_inner_texts() == ["notes.txt", "dropped.txt"]
    assert page.evaluate("window.__progressShown") is True
    assert page.locator(".cw-progress").is_hidden()
    assert chips.count() == 0
    download = page.request.get(links.first.get_attribute("href"))
    assert download.ok and download.body() == b"picked from the dialog"
    assert page.errors == []


@pytest.mark.parametrize("trigger", [
    "window.dispatchEvent(new Event('online'))",
    "document.dispatchEvent(new Event('visibilitychange'))",
], ids=["online", "visibilitychange"])
def test_reconnects_and_replays_what_it_missed(new_context, site, agent, trigger):
    page = open_page(new_context())
    conversation_id = send(page, "before the outage")["conversationId"]
    page.wait_for_function("() => window.__sockets.at(-1).readyState === 1")

    # The network drops: the socket closes and new ones cannot connect.
    page.evaluate("window.__blockSockets = true; window.__sockets.at(-1).close()")
    page.wait_for_function("""() => document.querySelector('chatwidget-root').shadowRoot
        .querySelector('.cw').dataset.connection === 'reconnecting'""")
    assert page.locator(".cw-status").inner_text() == "Reconnecting…"
    agent_reply(agent, conversation_id, "sent while you were away")
    page.wait_for_timeout(300)
    assert callbacks(page, "onMessage") == []

    # The network returns: the event reconnects at once (not on the backoff timer)...
    opened = page.evaluate(f"""() => {{
        window.__blockSockets = false;
        const before = window.__sockets.length;
        {trigger};
        return window.__sockets.length - before;
    }}""")
    assert opened == 1
    # ...and the server replays what the tab missed.
    wait_event(page, "onMessage")
    (event,) = callbacks(page, "onMessage")
    assert event["args"][0]["body"] == "sent while you were away"
    page.evaluate("chatwidget.open()")
    wait_bubble(page, "sent while you were away")
    page.wait_for_function("""() => document.querySelector('chatwidget-root').shadowRoot
        .querySelector('.cw').dataset.connection === 'open'""")
    assert page.locator(".cw-status").inner_text() == ""
    page.wait_for_timeout(300)
    assert len(callbacks(page, "onMessage")) == 1  # replayed once, not again from history
    assert bubbles(page) == ["before the outage", "sent while you were away"]
    assert page.errors == []


HOSTILE_BODY = (
    "<img src=x onerror=\"window.__pwned='body img'\">"
    "<script>window.__pwned='body script'</script>"
    "<a href=\"javascript:window.__pwned='body link'\">click</a> "
    "javascript:window.__pwned='bare' [x](javascript:alert(1)) "
    "https://example.com/\"><img src=x onerror=alert(1)>"
)
HOSTILE_FILE = "<img src=x onerror=alert('file')>.txt"


def test_hostile_payloads_render_as_inert_text(new_context, site, evil_agent):
    page = open_page(new_context(app_id="hostile"))
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.evaluate("chatwidget.open()")
    assert page.locator(".cw-title").inner_text() == HOSTILE_WIDGET_NAME
    assert page.locator(".cw-greeting .cw-bubble").inner_text() == HOSTILE_GREETING

    page.fill(".cw-input", HOSTILE_BODY)
    page.set_input_files(".cw-file", files=[
        {"name": HOSTILE_FILE, "mimeType": "text/plain", "buffer": b"harmless text"}])
    page.click(".cw-send")
    wait_event(page, "onNewConversation")
    conversation_id = callbacks(page, "onConversationCreate")[0]["args"][0]["conversationId"]
    agent_reply(evil_agent, conversation_id, HOSTILE_BODY)
    page.locator(".cw-msg.cw-agent .cw-bubble").wait_for()
    page.wait_for_timeout(300)  # let any injected handler run, were there one

    assert bubbles(page) == [HOSTILE_BODY, HOSTILE_BODY]
    assert page.locator(".cw-msg.cw-agent .cw-name").inner_text() == HOSTILE_NAME
    assert page.locator(".cw-atts a").inner_text() == HOSTILE_FILE
    found = shadow_eval(page, """(root) => ({
        injected: root.querySelectorAll('img, script, iframe, object, embed').length,
        handlers: [...root.querySelectorAll('*')].filter((el) =>
            [...el.attributes].some((a) => a.name.startsWith('on'))).length,
        hrefs: [...root.querySelectorAll('a')].map((a) => a.getAttribute('href')),
        pageImages: document.images.length,
        pwned: window.__pwned === undefined ? null : window.__pwned,
    })""")
    assert found["injected"] == 0 and found["handlers"] == 0 and found["pageImages"] == 0
    assert found["pwned"] is None and dialogs == []
    assert found["hrefs"], "the http(s) URL and the attachment are links"
    assert all(re.match(r"^https?://", href) for href in found["hrefs"]), found["hrefs"]
    assert "https://example.com/" in found["hrefs"]
    assert page.errors == []


@pytest.fixture
def csp_site(site):
    """A second server on the same database, behind tests/browser/csp_site.py's policy."""
    from tests.servers import start_asgi_server

    server = start_asgi_server(env={
        "DJANGO_SETTINGS_MODULE": "tests.browser.csp_site",
        "DATABASE_URL": f"sqlite:///{site.db_path}",
    })
    yield server
    server.stop()


def test_works_under_a_strict_nonce_based_csp(new_context, csp_site):
    context = new_context()
    context.add_init_script("""window.__violations = [];
        document.addEventListener('securitypolicyviolation',
            (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));""")
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    response = page.goto(csp_site.url + "/")
    assert "script-src 'nonce-" in response.headers["content-security-policy"]
    wait_ready(page)
    page.click(".cw-launcher")
    page.fill(".cw-input", "hello under CSP")
    page.keyboard.press("Enter")
    wait_event(page, "onNewConversation")
    page.wait_for_function("() => window.__sockets.at(-1).readyState === 1")
    # The stylesheet got the nonce too, or the window would not be styled.
    assert page.locator(".cw-window").evaluate("(el) => getComputedStyle(el).position") == "fixed"
    assert page.evaluate("window.__violations") == []
    # The tag rendered no inline executable script, and its script carries the nonce.
    scripts = page.evaluate("""() => [...document.scripts].map((s) => ({
        src: s.getAttribute('src'), type: s.type, nonce: s.nonce }))""")
    assert [s["type"] for s in scripts if not s["src"]] == ["application/json"]
    (sdk,) = [s for s in scripts if s["src"]]
    assert sdk["src"].endswith("chatwidget/chatwidget.js") and sdk["nonce"]
    assert page.errors == []


def test_screenshots_of_the_open_widget(new_context, site, agent, screenshots_dir):
    """Saved to tests/screenshots/ for a person to look at; the asserts catch gross breakage."""
    for name, width, height in (("desktop", 1280, 800), ("phone-375", 375, 740)):
        page = open_page(new_context(width=width, height=height))
        message = send(page, "Hello! I can't find the invoice for order #1234. "
                             "It should be on https://example.com/orders/1234")
        agent_reply(agent, message["conversationId"], "Sure, I'm looking it up for you now.",
                    files=[{"name": "invoice-1234.pdf", "mimeType": "application/pdf",
                            "buffer": b"%PDF-1.4\n% chatwidget screenshot\n"}])
        page.evaluate("chatwidget.open()")
        page.locator(".cw-atts a", has_text="invoice-1234.pdf").wait_for()
        page.fill(".cw-input", "Thanks!")
        page.screenshot(path=str(screenshots_dir / f"widget-open-{name}.png"))

        box = page.locator(".cw-window").bounding_box()
        assert box["x"] >= 0 and box["y"] >= 0
        assert box["x"] + box["width"] <= width and box["y"] + box["height"] <= height
        composer = page.locator(".cw-composer").bounding_box()
        assert composer["y"] + composer["height"] <= height
        if width <= 480:
            assert box["width"] == width  # full screen on phones
            assert page.locator(".cw-launcher").is_hidden()
        else:
            assert box["width"] < 400 and page.locator(".cw-launcher").is_visible()
        assert page.errors == []


def test_a_throttled_page_load_waits_as_told_and_the_widget_still_starts(new_context, site):
    """A 429 on the page-load ping (a busy site's throttle) is waited out, not shown."""
    context = new_context()
    throttled = []

    def throttle_once(route):
        if throttled:
            route.continue_()
            return
        throttled.append(route.request.url)
        route.fulfill(status=429, headers={"Retry-After": "1"}, content_type="application/json",
                      body='{"error": {"type": "throttled", "message": "Request was throttled."}}')

    context.route("**/chatwidget/api/ping/", throttle_once)
    page = open_page(context)
    assert len(throttled) == 1
    assert page.evaluate("window.__pings.length") >= 1  # the retried ping answered
    assert callbacks(page, "onError") == []
    message = send(page, "sent after a throttled start")
    assert message["conversationId"]
    assert page.errors == []
