"""``websocket_urlpatterns``: a flat list for the project's URLRouter (DESIGN §4).

Wrap the router with :class:`chatwidget.security.WidgetOriginValidator` and Channels'
``AuthMiddlewareStack`` (project/asgi.py shows how).
"""

from django.urls import path

from .consumers import AgentConsumer, VisitorConsumer

websocket_urlpatterns = [
    path("ws/chatwidget/agent/", AgentConsumer.as_asgi(), name="chatwidget-agent-socket"),
    path("ws/chatwidget/", VisitorConsumer.as_asgi(), name="chatwidget-visitor-socket"),
]
