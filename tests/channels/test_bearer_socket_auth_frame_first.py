"""A bearer socket authenticates with an ``auth`` frame and nothing else: a token
tucked into any other first frame is not a login, and the socket closes with 4401 as
docs/protocol.md says, before that frame does anything."""

from __future__ import annotations

import pytest

from chatwidget.consumers.base import CloseCode

from .sockets import accepted_then_closed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("first", [
    {"type": "ping"},
    {"type": "resume", "after": 0},
    {"type": "message.send", "body": "hi", "clientId": "c1"},
    {"type": "typing"},
])
async def test_a_token_in_a_first_frame_other_than_auth_does_not_authenticate(browser,
                                                                              first):
    frame = {**first, "token": browser.raw}
    if "body" in frame:
        frame["conversationId"] = browser.conversation.pk

    assert await accepted_then_closed("/ws/chatwidget/", [frame]) == \
        CloseCode.UNAUTHENTICATED
    assert not await browser.conversation.messages.aexists()
