"""The frame limit counts UTF-8 bytes, as docs/protocol.md says, for the "far over"
close too: a frame four times over in bytes closes the socket at once even when it
has fewer characters than that."""

from __future__ import annotations

import json

import pytest

from chatwidget.consumers.base import CloseCode

from . import sockets
from .sockets import closed_with

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_frame_far_over_the_limit_in_bytes_closes_at_once(settings, browser):
    settings.CHATWIDGET = {"MAX_FRAME_SIZE": 1000}
    tab = await sockets.visitor(browser.raw)
    # 2,100 characters, under 4 × the limit; 3 bytes each in UTF-8: 6,300 bytes.
    body = "€" * 2100
    frame = json.dumps({"type": "message.send", "conversationId": browser.conversation.pk,
                        "body": body}, ensure_ascii=False)
    assert len(frame) < 4000 < len(frame.encode())

    await tab.send_to(text_data=frame)

    assert await closed_with(tab) == CloseCode.FRAME_TOO_LARGE
