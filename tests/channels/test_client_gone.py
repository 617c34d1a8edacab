"""A frame sent to a client that has just closed its socket is dropped without a traceback:
under load a group event often reaches a consumer before the client's disconnect does."""

from __future__ import annotations

import pytest

from chatwidget.consumers.base import client_gone

uvicorn_utils = pytest.importorskip("uvicorn.protocols.utils")


def test_uvicorn_refusals_after_the_client_left_are_recognised():
    # While the close is in flight uvicorn raises ClientDisconnected (an OSError) ...
    assert client_gone(uvicorn_utils.ClientDisconnected())
    # ... and once it has answered the close, a RuntimeError with this wording.
    assert client_gone(RuntimeError(
        "Unexpected ASGI message 'websocket.send', after sending 'websocket.close' "
        "or response already completed."))


def test_other_errors_still_surface():
    assert not client_gone(RuntimeError("Expected ASGI message 'websocket.accept'"))
    assert not client_gone(OSError("No space left on device"))
    assert not client_gone(ValueError("after sending 'websocket.close'"))
