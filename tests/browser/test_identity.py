"""Who the widget is: site login and logout, logout(), identify(), and the hidden token."""

from __future__ import annotations

import json

from .helpers import (
    agent_reply,
    bubbles,
    callbacks,
    contact,
    listeners,
    open_page,
    send,
    site_login,
    wait_bubble,
    wait_event,
    wait_new_contact,
    wait_ready,
    wait_socket_ready,
)


def wait_same_contact(page, other) -> None:
    """Tabs of one browser converge on one contact."""
    page.wait_for_function("(id) => window.__pings.at(-1).contact.id === id",
                           arg=contact(other)["id"])


def test_anonymous_chat_follows_the_site_login_to_every_browser(new_context, site):
    page = open_page(new_context())
    anonymous = contact(page)
    assert anonymous["identified"] is False
    send(page, "asked before logging in")

    site_login(page, "alice", "pw-alice-123")  # same tab: the login form, then home
    alice = contact(page)
    assert alice["identified"] is True and alice["id"] != anonymous["id"]
    wait_event(page, "onLogin")
    assert callbacks(page, "onLogin")[0]["args"] == [{
        "identified": True, "email": "alice@example.com", "externalId": None,
        "customerId": str(alice["id"]),
    }]
    page.evaluate("chatwidget.open()")
    wait_bubble(page, "asked before logging in")

    elsewhere = open_page(new_context())  # another browser, anonymous at first
    assert contact(elsewhere)["id"] not in (anonymous["id"], alice["id"])
    site_login(elsewhere, "alice", "pw-alice-123")
    assert contact(elsewhere)["id"] == alice["id"]
    elsewhere.evaluate("chatwidget.open()")
    wait_bubble(elsewhere, "asked before logging in")
    assert page.errors == [] and elsewhere.errors == []


def test_a_site_logout_in_one_tab_resets_the_other_tab(new_context, site):
    context = new_context()
    tab1 = open_page(context)
    site_login(tab1, "bob", "pw-bob-123")
    tab2 = open_page(context)
    bob = contact(tab2)
    assert bob["identified"] is True and bob["id"] == contact(tab1)["id"]
    send(tab1, "only for bob")
    tab2.evaluate("chatwidget.open()")
    wait_bubble(tab2, "only for bob")

    with tab1.expect_navigation():
        tab1.click("#site-logout")
    wait_ready(tab1)

    wait_event(tab2, "onLogout")
    fresh = wait_new_contact(tab2, bob["id"])
    assert fresh["identified"] is False
    tab2.wait_for_function(
        "() => !document.querySelector('chatwidget-root').shadowRoot"
        ".querySelector('.cw-log .cw-msg:not(.cw-greeting)')")
    assert bubbles(tab2) == []
    assert tab2.evaluate("chatwidget.getUnreadCount()") == {"total": 0, "conversations": {}}
    assert tab2.locator(".cw-log .cw-greeting").is_visible()  # an empty widget, ready to chat
    wait_same_contact(tab1, tab2)
    assert contact(tab1)["identified"] is False
    tab1.wait_for_timeout(300)
    assert len(callbacks(tab2, "onLogout")) == 1 and len(listeners(tab2, "onLogout")) == 1
    active = site.query("SELECT COUNT(*) AS n FROM chatwidget_widgettoken "
                        "WHERE contact_id = ? AND revoked_at IS NULL", bob["id"])
    assert active[0]["n"] == 0
    assert tab1.errors == [] and tab2.errors == []


def test_logout_takes_effect_before_it_returns_and_resolves_empty(new_context, site):
    context = new_context()
    tab1 = open_page(context)
    send(tab1, "forget me")
    tab1.evaluate("chatwidget.open()")
    wait_bubble(tab1, "forget me")
    tab2 = open_page(context)
    old = contact(tab2)
    assert old["id"] == contact(tab1)["id"]
    tab2.evaluate("chatwidget.open()")
    wait_bubble(tab2, "forget me")

    outcome = tab1.evaluate("""async () => {
        const root = document.querySelector('chatwidget-root').shadowRoot;
        const posted = window.__broadcasts.length;
        const promise = chatwidget.logout();
        const sync = {
            onLogoutCallbacks: __cb.filter((e) => e.event === 'onLogout').length,
            onLogoutListeners: __ls.filter((e) => e.event === 'onLogout').map((e) => e.response),
            unread: chatwidget.getUnreadCount(),
            messages: root.querySelectorAll('.cw-log .cw-msg:not(.cw-greeting)').length,
            sockets: window.__sockets.map((s) => s.readyState),
            told: window.__broadcasts.slice(posted),
            isPromise: promise instanceof Promise,
        };
        return { sync, result: await promise };
    }""")
    sync = outcome["sync"]
    assert sync["onLogoutCallbacks"] == 1 and sync["onLogoutListeners"] == [{}]
    assert sync["unread"] == {"total": 0, "conversations": {}}
    assert sync["messages"] == 0
    assert sync["sockets"] and all(state >= 2 for state in sync["sockets"])  # CLOSING/CLOSED
    assert {"t": "logout", "id": old["id"]} in sync["told"]
    assert sync["isPromise"] is True
    assert outcome["result"] == {}

    fresh = contact(tab1)
    assert fresh["id"] != old["id"] and fresh["identified"] is False
    wait_event(tab2, "onLogout")
    wait_same_contact(tab2, tab1)
    assert bubbles(tab1) == [] and bubbles(tab2) == []
    tab2.wait_for_timeout(300)
    assert len(callbacks(tab2, "onLogout")) == 1
    active = site.query("SELECT COUNT(*) AS n FROM chatwidget_widgettoken "
                        "WHERE contact_id = ? AND revoked_at IS NULL", old["id"])
    assert active[0]["n"] == 0
    assert tab1.errors == [] and tab2.errors == []


IDENTIFY = """([externalId, attributes, options]) =>
    chatwidget.identify(externalId, attributes, options).then(
        (login) => ({ login }),
        (e) => ({ error: {
            type: e.type, message: e.message, status: e.data.status, isError: e instanceof Error,
        } }))"""


def test_identify_needs_the_right_user_hash(new_context, site):
    page = open_page(new_context())
    anonymous = contact(page)
    send(page, "said before identify")
    pings = page.evaluate("window.__pings.length")

    missing = page.evaluate(IDENTIFY, ["ext-42", {"plan": "gold"}, None])
    wrong = page.evaluate(IDENTIFY, ["ext-42", {"plan": "gold"}, {"userHash": "0" * 64}])
    for outcome in (missing, wrong):
        assert outcome["error"]["type"] == "identity_verification_failed"
        assert outcome["error"]["status"] == 403 and outcome["error"]["isError"] is True
    errors = callbacks(page, "onError")
    assert [e["args"][0]["type"] for e in errors] == ["identity_verification_failed"] * 2
    assert len(listeners(page, "onError")) == 2
    # Nothing changed: same contact, no ping, no login, nothing stored for ext-42.
    assert page.evaluate("window.__pings.length") == pings
    assert callbacks(page, "onLogin") == []
    assert site.query("SELECT id FROM chatwidget_contact WHERE external_id = 'ext-42'") == []
    (row,) = site.query("SELECT attributes FROM chatwidget_contact WHERE id = ?",
                        anonymous["id"])
    assert json.loads(row["attributes"]) == {}

    right = page.evaluate(IDENTIFY, ["ext-42", {"plan": "gold"},
                                     {"userHash": site.user_hash("ext-42")}])
    login = right["login"]
    assert login["identified"] is True and login["externalId"] == "ext-42"
    wait_event(page, "onLogin")
    assert callbacks(page, "onLogin")[0]["args"] == [login]
    identified = wait_new_contact(page, anonymous["id"])
    assert identified["externalId"] == "ext-42" and str(identified["id"]) == login["customerId"]
    assert identified["attributes"] == {"plan": "gold"}
    page.evaluate("chatwidget.open()")
    wait_bubble(page, "said before identify")  # the anonymous history came along

    # While the site session is logged in, the site login owns the identity.
    member = open_page(new_context())
    site_login(member, "carol", "pw-carol-123")
    refused = member.evaluate(IDENTIFY, ["ext-43", None, {"userHash": site.user_hash("ext-43")}])
    assert refused["error"]["type"] == "site_login_owns_identity"
    assert refused["error"]["status"] == 409
    assert page.errors == [] and member.errors == []


def test_page_scripts_never_see_the_widget_token(new_context, site):
    context = new_context()
    page = open_page(context)
    send(page, "token check")
    (cookie,) = [c for c in context.cookies() if c["name"] == "chatwidget"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    token = cookie["value"]
    seen = page.evaluate("""() => ({
        cookie: document.cookie,
        local: JSON.stringify(Object.assign({}, localStorage)),
        session: JSON.stringify(Object.assign({}, sessionStorage)),
        pings: window.__pings.map((p) => p.text).join('\\n'),
        html: document.documentElement.outerHTML,
    })""")
    assert "chatwidget=" not in seen["cookie"]
    for where, text in seen.items():
        assert token not in text, where


def test_open_state_and_unread_counts_stay_in_step_across_tabs(new_context, site, agent):
    context = new_context()
    tab1 = open_page(context)
    conversation_id = send(tab1, "two tabs")["conversationId"]
    tab2 = open_page(context)

    tab1.evaluate("chatwidget.open()")
    wait_event(tab2, "onChatOpened")
    assert tab2.evaluate("chatwidget.isOpen()") is True
    tab2.evaluate("chatwidget.close()")
    wait_event(tab1, "onChatClosed")
    assert tab1.evaluate("chatwidget.isOpen()") is False

    agent_reply(agent, conversation_id, "one reply, two tabs")
    for tab in (tab1, tab2):
        wait_event(tab, "onUnread")
        assert tab.evaluate("chatwidget.getUnreadCount().total") == 1
    tab1.evaluate("chatwidget.open()")  # reading in one tab clears the count in both
    for tab in (tab1, tab2):
        wait_event(tab, "onUnread", 2)
        assert tab.evaluate("chatwidget.getUnreadCount()") == {"total": 0, "conversations": {}}
    tab1.wait_for_timeout(300)
    for tab in (tab1, tab2):
        assert [e["event"] for e in callbacks(tab) if e["event"] in (
            "onChatOpened", "onChatClosed", "onUnread", "onMessage")] == [
            "onChatOpened", "onChatClosed", "onMessage", "onUnread", "onChatOpened", "onUnread"]
    assert tab1.errors == [] and tab2.errors == []


def test_a_logout_empties_the_widget_even_while_it_is_closed(new_context, site):
    page = open_page(new_context())
    send(page, "private words")
    page.evaluate("chatwidget.open()")
    wait_bubble(page, "private words")
    page.evaluate("chatwidget.close()")

    page.evaluate("chatwidget.logout()")

    left = page.evaluate("""() => document.querySelector('chatwidget-root').shadowRoot
        .querySelector('.cw-window').textContent""")
    assert "private words" not in left
    assert page.errors == []


def test_two_widgets_on_one_site_keep_their_own_visitor_in_one_browser(new_context, site):
    """One cookie jar, two widgets: visiting the second never orphans the first's chat."""
    support = new_context()
    page = open_page(support)
    first = contact(page)
    send(page, "asked the support widget")
    other = new_context(app_id="hostile")  # the same browser: its cookies are copied over
    other.add_cookies(support.cookies())

    second = contact(open_page(other))
    support.add_cookies(other.cookies())
    page.reload()
    wait_ready(page)

    assert second["id"] != first["id"]
    assert contact(page)["id"] == first["id"]
    page.evaluate("chatwidget.open()")
    wait_bubble(page, "asked the support widget")
    assert page.errors == []


def logout_in_one_tab_resets_the_other(tab1, tab2) -> None:
    wait_socket_ready(tab2)  # else the push could go out before tab2 hears its token's group
    old = contact(tab2)

    tab1.evaluate("chatwidget.logout()")

    wait_event(tab2, "onLogout")
    assert wait_new_contact(tab2, old["id"])["identified"] is False
    assert tab2.errors == []


def test_a_logout_reaches_the_other_tab_through_the_tabs_channel_alone(new_context, site):
    """The server's push to tab 2 is dropped: the BroadcastChannel must do it alone."""
    context = new_context()
    tab1 = open_page(context)
    send(tab1, "for this browser only")
    tab2 = context.new_page()
    tab2.errors = []

    def drop_logout_pushes(ws):
        server = ws.connect_to_server()
        server.on_message(lambda message: None if '"logout"' in str(message)
                          else ws.send(message))
        server.on_close(lambda code, reason: None)  # nor the 4001 close that follows it
        ws.on_message(lambda message: server.send(message))

    tab2.route_web_socket("**/ws/chatwidget/**", drop_logout_pushes)
    tab2.goto("/")
    wait_ready(tab2)
    wait_same_contact(tab2, tab1)
    logout_in_one_tab_resets_the_other(tab1, tab2)


def test_a_logout_reaches_the_other_tab_through_the_server_push_alone(new_context, site):
    """No BroadcastChannel in this browser: the server's push must do it alone."""
    context = new_context()
    context.add_init_script("delete window.BroadcastChannel;")
    tab1 = open_page(context)
    send(tab1, "for this browser only")
    tab2 = open_page(context)
    wait_same_contact(tab2, tab1)
    logout_in_one_tab_resets_the_other(tab1, tab2)
