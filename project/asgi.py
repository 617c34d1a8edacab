"""ASGI entry point: HTTP through Django, websockets through chatwidget's routing."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
# Django must be set up before anything imports models (consumers, routing).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chatwidget.routing import unknown_socket_path, websocket_urlpatterns  # noqa: E402
from chatwidget.security import WidgetOriginValidator  # noqa: E402
from chatwidget.socket_auth import AuthMiddlewareStack  # noqa: E402

# WidgetOriginValidator is Channels' AllowedHostsOriginValidator plus one door: a foreign
# Origin may reach the visitor socket, which then admits only the widget's embed origins,
# and only with a bearer token (chatwidget/security.py).
application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": WidgetOriginValidator(
            AuthMiddlewareStack(URLRouter([*websocket_urlpatterns, unknown_socket_path]))
        ),
    }
)
