"""The event catalogue is defined once on the server and mirrored once in the SDK."""

import re
from pathlib import Path

from chatwidget import events

SDK = Path(events.__file__).parent / "static" / "chatwidget" / "chatwidget.js"


def sdk_server_events() -> set[str]:
    table = re.search(r"const SERVER_EVENTS = \{(.*?)\n  \};", SDK.read_text(), re.S)
    assert table, "chatwidget.js no longer declares its SERVER_EVENTS table"
    return set(re.findall(r"^\s*'([a-z.]+)':", table.group(1), re.M))


def test_the_sdk_handles_exactly_the_events_the_server_can_send():
    assert sdk_server_events() == set(events.CATALOGUE)


def test_agent_only_events_are_unknown_to_the_visitor_sdk():
    # note.created and agent.presence go to agent sockets only; a visitor SDK that knew
    # them would suggest they could reach a visitor.
    assert not set(events.AGENT_ONLY) & sdk_server_events()
    assert not set(events.AGENT_ONLY) & set(events.CATALOGUE)
