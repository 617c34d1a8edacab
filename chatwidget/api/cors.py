"""CORS for cross-origin embeds: a widget on another site talks to the API with a bearer token.

Only origins allowed to embed a widget (``Widget.allowed_origins`` or
``CHATWIDGET["ALLOWED_ORIGINS"]``) are answered, and never with
``Access-Control-Allow-Credentials``: a foreign page must not ride on the browser's cookies
(the site login or the widget cookie), so it can only use a token it was given.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase

from .. import conf, security
from ..models import Widget

ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, X-Chatwidget-App"


def allowed_cross_origin(request: HttpRequest, widget: Widget | None = None) -> str | None:
    """The request's ``Origin`` when it is a foreign origin allowed to embed ``widget``.

    Without a widget (a preflight, which carries no token) any widget's origins count.
    """
    origin = request.headers.get("Origin")
    if not origin or security.is_site_origin(origin):
        return None
    if widget is not None:
        return origin if security.embed_origin_allowed(widget, origin) else None
    allowed = list(conf.get("ALLOWED_ORIGINS"))
    for origins in Widget.objects.values_list("allowed_origins", flat=True):
        allowed.extend(origins or [])
    return origin if security.origin_in(origin, allowed) else None


def token_widget(request: HttpRequest) -> Widget | None:
    """The widget of the token this request ended up with (after a ping, the new one)."""
    session = getattr(request, "chatwidget", None)
    token = session.token if session is not None else None
    return token.contact.widget if token is not None else None


def is_preflight(request: HttpRequest) -> bool:
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers


class CrossOriginMixin:
    """For the views an embed calls: answer preflights, label allowed responses."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if is_preflight(request):
            # Preflights carry no credentials, so they must not reach authentication.
            response: HttpResponseBase = HttpResponse(status=204)
            origin = allowed_cross_origin(request)
            if origin:
                response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
                response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
                response["Access-Control-Max-Age"] = "600"
        else:
            response = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
            # A response is shared only with the origins of the widget it speaks for.
            origin = allowed_cross_origin(request, token_widget(request))
        if origin:
            response["Access-Control-Allow-Origin"] = origin
            # The SDK waits as long as a 429 says; a foreign page reads only exposed headers.
            response["Access-Control-Expose-Headers"] = "Retry-After"
        response.headers.setdefault("Vary", "Origin")
        return response
