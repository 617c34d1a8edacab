"""The SDK's contract (DESIGN §5): every event once, with its documented arguments, for
``callbacks`` and listeners alike; calls made before ready run in order."""

from __future__ import annotations

from .helpers import (
    EVENT_NAMES,
    agent_reply,
    callbacks,
    contact,
    documented_stub,
    listeners,
    open_page,
    send,
    wait_event,
)

CONTACT_KEYS = {"id", "identified", "email", "name", "externalId", "attributes"}


def test_every_event_fires_once_with_documented_arguments(new_context, site, agent):
    page = open_page(new_context())
    # Aliases, duplicate registration and removeListener, next to the recorder's listeners.
    page.evaluate("""() => {
        window.__alias = [];
        window.__removed = [];
        for (const alias of ['onOpen', 'onClose']) {
            chatwidget.addListener(alias, (response, error) =>
                __alias.push([alias, response, error === undefined]));
        }
        const gone = () => __removed.push('called');
        chatwidget.addListener('onChatOpened', gone);
        chatwidget.addListener('onChatOpened', gone);
        chatwidget.removeListener('onOpen', gone);
    }""")

    page.evaluate("chatwidget.open()")
    wait_event(page, "onChatOpened")
    assert page.evaluate("chatwidget.isOpen()") is True
    page.evaluate("chatwidget.close()")
    wait_event(page, "onChatClosed")

    message = send(page, "hello")
    conversation_id = message["conversationId"]
    wait_event(page, "onNewConversation")

    reply = agent_reply(agent, conversation_id, "Hi, Ada here")
    wait_event(page, "onMessage")
    wait_event(page, "onUnread")
    assert page.evaluate("chatwidget.getUnreadCount()") == {
        "total": 1, "conversations": {str(conversation_id): 1}}

    page.evaluate("chatwidget.open()")  # showing the thread reads it
    wait_event(page, "onUnread", 2)
    assert page.evaluate("chatwidget.getUnreadCount()") == {"total": 0, "conversations": {}}
    page.evaluate("chatwidget.close()")
    wait_event(page, "onChatClosed", 2)

    refused = page.evaluate("chatwidget.identify('ext-events').then(() => null, (e) => e.type)")
    assert refused == "identity_verification_failed"
    login = page.evaluate("([id, hash]) => chatwidget.identify(id, {}, {userHash: hash})",
                          ["ext-events", site.user_hash("ext-events")])
    wait_event(page, "onLogin")
    page.wait_for_function("() => window.__pings.at(-1).contact.identified")
    identified = contact(page)
    assert page.evaluate("chatwidget.logout()") == {}

    expected = [
        "onReady", "onChatOpened", "onChatClosed", "onConversationCreate",
        "onNewConversation", "onMessage", "onUnread", "onChatOpened", "onUnread",
        "onChatClosed", "onError", "onLogin", "onLogout",
    ]
    page.wait_for_timeout(300)  # nothing may trail in late
    cb, ls = callbacks(page), listeners(page)
    assert [e["event"] for e in cb] == expected
    assert [e["event"] for e in ls] == expected
    assert set(expected) == set(EVENT_NAMES)
    args = [e["args"] for e in cb]
    responses = [e["response"] for e in ls]

    # onReady: () / {contact}
    assert args[0] == []
    assert set(responses[0]) == {"contact"} and set(responses[0]["contact"]) == CONTACT_KEYS
    # onChatOpened / onChatClosed: () / null, and their aliases heard the same occurrences
    for i in (1, 2, 7, 9):
        assert args[i] == [] and responses[i] is None
    assert page.evaluate("window.__alias") == [
        ["onOpen", None, True], ["onClose", None, True],
        ["onOpen", None, True], ["onClose", None, True],
    ]
    assert page.evaluate("window.__removed") == []
    # onConversationCreate: (response) / {conversationId, createdAt, ended, isInAssistantMode}
    created = responses[3]
    assert set(created) == {"conversationId", "createdAt", "ended", "isInAssistantMode"}
    assert created["conversationId"] == conversation_id and created["ended"] is False
    assert args[3] == [created]
    # onNewConversation: (message, attachments) / {message, attachments}
    assert args[4] == ["hello", []]
    assert responses[4] == {"message": "hello", "attachments": []}
    # onMessage: (message) / {conversationId, message}, for the agent's reply only
    assert responses[5] == {"conversationId": conversation_id, "message": reply}
    assert args[5] == [reply]
    assert reply["sender"] == {"kind": "agent", "name": "Ada"}
    # onUnread: (response) / {total, change: {conversationId, count}}
    assert responses[6]["total"] == 1
    assert responses[6]["change"] == {"conversationId": conversation_id, "count": 1}
    assert args[6] == [responses[6]]
    assert responses[8]["total"] == 0
    assert responses[8]["change"] == {"conversationId": conversation_id, "count": 0}
    # onError: (error) / {type, message, data}, with the Error object as the listener's error
    assert set(responses[10]) == {"type", "message", "data"}
    assert responses[10]["type"] == "identity_verification_failed"
    assert responses[10]["data"]["status"] == 403
    assert args[10] == [responses[10]]
    assert ls[10]["error"]["isError"] is True
    assert ls[10]["error"]["type"] == "identity_verification_failed"
    # onLogin: (response) / {identified, email, externalId, customerId}
    assert responses[11] == login
    assert login["identified"] is True and login["externalId"] == "ext-events"
    assert login["customerId"] == str(identified["id"])
    assert args[11] == [login]
    # onLogout: () / {}
    assert args[12] == [] and responses[12] == {}
    # Only the listener's error argument of onError is set.
    assert all(e["error"] is None for i, e in enumerate(ls) if i != 10)
    assert page.errors == []


EMBED_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>embed</title></head>
<body>
<p>A page embedding the widget by hand, calling it before the script has loaded.</p>
<script>%(stub)s</script>
<script>
  window.__order = [];
  chatwidget.addListener('onChatOpened', () => __order.push('onChatOpened'));
  chatwidget.load({ app_id: 'default', callbacks: { onReady: () => __order.push('onReady') } })
    .then((ready) => __order.push('load:' + typeof ready.contact.id));
  chatwidget.setAttributes({ plan: 'pro' })
    .then((c) => __order.push('setAttributes:' + c.attributes.plan));
  chatwidget.sendMessage('first').then((m) => __order.push('first'));
  chatwidget.sendMessage('second').then((m) => __order.push('second'));
  chatwidget.open().then(() => __order.push('open'));
  document.addEventListener('DOMContentLoaded', () => {
    // The script has run, the ping has not answered: still queued, still in order.
    __order.push('sdk loaded: ' + (chatwidget.q === undefined)
                 + ', ready: ' + __order.includes('onReady'));
    chatwidget.sendMessage('third').then(() => __order.push('third'));
  });
</script>
<script src="/static/chatwidget/chatwidget.js" defer></script>
</body></html>
"""


def test_calls_made_before_the_script_loads_run_in_order(new_context, site):
    context = new_context(recorder=False)
    # A page served by context.route() cannot open WebSockets in Playwright's Chromium;
    # this test needs only the REST half (tests/browser/csp_site.py exists for that reason).
    context.route(f"{site.url}/embed/", lambda route: route.fulfill(
        content_type="text/html", body=EMBED_PAGE % {"stub": documented_stub()}))
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/embed/")
    # Queued calls start in order; open() loads the panel module, so it may finish after a
    # later send: wait for every outcome before reading the order.
    page.wait_for_function(
        "() => ['third', 'open', 'onChatOpened'].every((step) => window.__order.includes(step))")
    order = page.evaluate("window.__order")

    assert order[0] == "sdk loaded: true, ready: false"
    assert order.index("onReady") < order.index("onChatOpened")
    assert "load:number" in order and "setAttributes:pro" in order and "open" in order
    assert order.index("first") < order.index("second") < order.index("third")

    rows = site.query(
        "SELECT m.body, m.conversation_id, c.attributes FROM chatwidget_message m "
        "JOIN chatwidget_contact c ON c.id = m.contact_id WHERE m.body IN "
        "('first', 'second', 'third') AND c.attributes LIKE '%pro%' ORDER BY m.id")
    assert [row["body"] for row in rows] == ["first", "second", "third"]
    assert len({row["conversation_id"] for row in rows}) == 1  # the sends waited for each other
    assert page.locator(".cw-window").is_visible()
    assert errors == []


DESCRIBE = """([conversationId, customAttributes]) => new Promise((resolve) => {
    const outcome = {};
    const promise = chatwidget.describeConversation({ conversationId, customAttributes },
        (response, error) => {
            outcome.callback = { response, error: error ? error.type : null };
        });
    promise.then((response) => { outcome.promise = { response }; },
                 (error) => { outcome.promise = { error: error.type }; })
        .then(() => setTimeout(() => resolve(outcome), 50));
})"""


def test_describe_conversation_resolves_and_calls_back(new_context, site):
    page = open_page(new_context())
    conversation_id = send(page, "describe me")["conversationId"]

    done = page.evaluate(DESCRIBE, [conversation_id, {"page": "/pricing"}])
    assert done["callback"]["error"] is None
    conversation = done["callback"]["response"]
    assert done["promise"]["response"] == conversation
    assert conversation["conversationId"] == conversation_id
    assert conversation["customAttributes"] == {"page": "/pricing"}
    (row,) = site.query("SELECT custom_attributes FROM chatwidget_conversation WHERE id = ?",
                        conversation_id)
    assert row["custom_attributes"] == '{"page": "/pricing"}'

    # Not this visitor's conversation: both paths fail, onError fires once, nothing changes.
    refused = page.evaluate(DESCRIBE, [conversation_id + 10_000, {"page": "/x"}])
    assert refused == {"callback": {"response": None, "error": "not_found"},
                       "promise": {"error": "not_found"}}
    assert [e["args"][0]["type"] for e in callbacks(page, "onError")] == ["not_found"]
    assert page.errors == []


def test_hide_show_open_close(new_context, site):
    page = open_page(new_context())
    launcher, window = page.locator(".cw-launcher"), page.locator(".cw-window")
    page.evaluate("chatwidget.hide()")
    launcher.wait_for(state="hidden")
    page.evaluate("chatwidget.show()")
    launcher.wait_for()
    assert window.is_hidden()
    page.evaluate("chatwidget.hide(); chatwidget.open()")  # open() brings the widget back
    window.wait_for()
    page.evaluate("chatwidget.hide()")  # hiding an open widget closes it
    window.wait_for(state="hidden")
    assert page.evaluate("chatwidget.isOpen()") is False
    assert [e["event"] for e in callbacks(page) if e["event"] != "onReady"] == [
        "onChatOpened", "onChatClosed"]
    assert page.errors == []
