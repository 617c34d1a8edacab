"""One replay at a time, in the SDK and the inbox (docs/protocol.md, resync).

A server that falls behind tells a socket ``resync`` each time its channel overflows; a
client that started a new replay for each one multiplied the replays while the server was
behind (the bench's overloaded agents then missed most messages a minute after the load
stopped). Both clients run here in Chromium against a recording stand-in for the socket,
so every frame they send is seen and nothing depends on timing.
"""

from __future__ import annotations

from typing import Any

# Installed before the page's scripts: sockets are recorded, frames are fed by the test.
FAKE_SOCKET = """
window.__sockets = [];
window.WebSocket = class {
  static OPEN = 1;
  constructor(url) {
    this.url = url; this.readyState = 1; this.sent = []; window.__sockets.push(this);
  }
  send(data) { this.sent.push(JSON.parse(data)); }
  close() { this.readyState = 3; }
  feed(frame) { this.onmessage({ data: JSON.stringify(frame) }); }
};
"""

RESUMES = "(ws) => ws.sent.filter((f) => f.type === 'resume').map((f) => f.after)"


def test_the_inbox_keeps_one_replay_at_a_time_and_takes_up_a_resync_that_came_during_it(
        new_context: Any) -> None:
    page = new_context(recorder=False).new_page()
    page.add_init_script(FAKE_SOCKET)
    page.goto("/")

    resumes = page.evaluate("""async () => {
      const { AgentClient } = await import('/static/chatwidget/inbox/api.js');
      const client = new AgentClient({ socket: '/ws/chatwidget/agent/' });
      client.connect();
      const ws = window.__sockets.at(-1);
      const feed = (frame) => client.received(frame);
      const resumes = () => ws.sent.filter((f) => f.type === 'resume').map((f) => f.after);
      const steps = [];
      client.lastId = 10;
      feed({ type: 'resync', after: 7 });
      steps.push(resumes());
      feed({ type: 'resync', after: 9 });
      feed({ type: 'resync', after: 5 });
      steps.push(resumes());               // still one replay
      feed({ type: 'resume.done', lastId: 20, more: true });
      steps.push(resumes());               // from the lowest resync point, not 20
      feed({ type: 'message.created', message: { id: 90 } });
      feed({ type: 'resume.done', lastId: 30, more: true });
      steps.push(resumes());               // its own next page, not the live 90
      feed({ type: 'resume.done', lastId: 40, more: false });
      feed({ type: 'resync', after: 35 });
      steps.push(resumes());               // a new replay once the last one ended
      feed({ type: 'error', code: 'unavailable', message: 'Try again.' });
      feed({ type: 'resync', after: 50 });
      steps.push(resumes());               // a failed replay does not hold the next back
      return steps;
    }""")

    assert resumes == [[7], [7], [7, 5], [7, 5, 30], [7, 5, 30, 35], [7, 5, 30, 35, 50]]


def test_the_widget_keeps_one_replay_at_a_time_and_takes_up_a_resync_that_came_during_it(
        new_context: Any) -> None:
    page = new_context(recorder=False).new_page()
    page.add_init_script(FAKE_SOCKET)
    page.goto("/")
    page.wait_for_function("window.__sockets.length > 0")
    socket = page.evaluate_handle("window.__sockets.at(-1)")

    def feed(frame: dict[str, Any]) -> list[int]:
        page.evaluate("([ws, frame]) => ws.feed(frame)", [socket, frame])
        return page.evaluate(RESUMES, socket)

    feed({"type": "message.created", "message": {
        "id": 10, "conversationId": 1, "clientId": None, "body": "Hi",
        "sender": {"kind": "agent", "name": "Ada"}, "attachments": [],
        "createdAt": "2026-11-30T00:00:00Z"}})

    assert feed({"type": "resync", "after": 7}) == [7]
    feed({"type": "resync", "after": 9})
    assert feed({"type": "resync", "after": 5}) == [7]
    assert feed({"type": "resume.done", "lastId": 20, "more": True}) == [7, 5]
    assert feed({"type": "resume.done", "lastId": 30, "more": True}) == [7, 5, 30]
    assert feed({"type": "resume.done", "lastId": 40, "more": False}) == [7, 5, 30]
    assert feed({"type": "resync", "after": 35}) == [7, 5, 30, 35]
