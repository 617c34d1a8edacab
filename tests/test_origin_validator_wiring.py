"""The socket origin guard refuses to be wired where it cannot guard anything.

``WidgetOriginValidator`` judges websocket handshakes. Mounted by mistake on the HTTP
side of ``ProtocolTypeRouter`` it must fail the first request loudly, as Channels' own
``AllowedHostsOriginValidator`` does, instead of quietly answering HTTP as if it were
a socket.
"""

from __future__ import annotations

import pytest
from channels.routing import ProtocolTypeRouter
from channels.testing import HttpCommunicator
from django.core.asgi import get_asgi_application

from chatwidget.security import WidgetOriginValidator


async def test_an_origin_validator_mounted_on_http_fails_the_first_request():
    application = ProtocolTypeRouter({"http": WidgetOriginValidator(get_asgi_application())})
    request = HttpCommunicator(application, "GET", "/chatwidget/api/schema/",
                               headers=[(b"origin", b"http://testserver")])

    with pytest.raises(ValueError, match="only handles websocket"):
        await request.get_response(timeout=5)
