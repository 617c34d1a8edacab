"""``websocket_urlpatterns``: a flat list for the project's URLRouter (DESIGN §4).

Wrap the router with :class:`chatwidget.security.WidgetOriginValidator` and
:func:`chatwidget.socket_auth.AuthMiddlewareStack` (or Channels' own; project/asgi.py
shows how).
"""

from django.urls import path, re_path

from .consumers import AgentConsumer, VisitorConsumer
from .consumers.base import UnknownPath

websocket_urlpatterns = [
    path("ws/chatwidget/agent/", AgentConsumer.as_asgi(), name="chatwidget-agent-socket"),
    path("ws/chatwidget/", VisitorConsumer.as_asgi(), name="chatwidget-visitor-socket"),
    # Anything else under the app's prefix is refused cleanly; URLRouter would raise.
    re_path(r"^ws/chatwidget/", UnknownPath.as_asgi(), name="chatwidget-unknown-socket"),
]

# For the end of a project's websocket router, so no path there raises either.
unknown_socket_path = re_path(r"", UnknownPath.as_asgi(), name="chatwidget-no-socket")
