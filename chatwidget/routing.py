"""``websocket_urlpatterns``: a flat list for the project's URLRouter."""

websocket_urlpatterns: list = []
