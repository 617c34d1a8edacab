"""The OpenAPI schema at ``chatwidget/api/schema/``: chatwidget's endpoints only.

A host project may have its own DRF API and its own ``SPECTACULAR_SETTINGS``; this view
documents exactly this app, whatever the project configured.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularAPIView
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny

from .. import __version__, conf

API_VIEWS_MODULE = "chatwidget.api."


def only_chatwidget(endpoints: list[tuple[str, str, str, Any]]) -> list[tuple[str, str, str, Any]]:
    """Preprocessing hook: keep the endpoints whose views live in ``chatwidget.api``."""
    return [
        endpoint for endpoint in endpoints
        if getattr(endpoint[3], "cls", None) is not None
        and endpoint[3].cls.__module__.startswith(API_VIEWS_MODULE)
        and endpoint[3].cls is not ChatWidgetSchemaView
    ]


class ChatWidgetSchemaView(SpectacularAPIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [AllowAny]
    custom_settings = {
        "TITLE": "chatwidget API",
        "DESCRIPTION": (
            "Visitor and agent REST API of the chatwidget Django app. Errors are always "
            '`{"error": {"type", "message", "fields"?}}` with a 4xx status.'
        ),
        "VERSION": __version__,
        "COMPONENT_SPLIT_REQUEST": True,
        "PREPROCESSING_HOOKS": ["chatwidget.api.schema.only_chatwidget"],
    }


class VisitorAuthenticationScheme(OpenApiAuthenticationExtension):
    # Exact class only: ping (PingAuthentication) declares its optional auth on the view.
    target_class = "chatwidget.api.authentication.VisitorAuthentication"
    name = ["widgetCookie", "widgetBearer"]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {
                "type": "apiKey",
                "in": "cookie",
                "name": conf.get("COOKIE_NAME"),
                "description": "HttpOnly widget cookie set by ping (same-origin pages).",
            },
            {
                "type": "http",
                "scheme": "bearer",
                "description": "Widget token returned by ping to cross-origin embeds.",
            },
        ]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        return [{"widgetCookie": []}, {"widgetBearer": []}]
