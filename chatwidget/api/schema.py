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

from .. import __version__, chat, conf, validation
from . import responses

API_VIEWS_MODULE = "chatwidget.api."


def only_chatwidget(endpoints: list[tuple[str, str, str, Any]]) -> list[tuple[str, str, str, Any]]:
    """Preprocessing hook: keep the endpoints whose views live in ``chatwidget.api``."""
    return [
        endpoint for endpoint in endpoints
        if getattr(endpoint[3], "cls", None) is not None
        and endpoint[3].cls.__module__.startswith(API_VIEWS_MODULE)
        and endpoint[3].cls is not ChatWidgetSchemaView
    ]


# Rules DRF enforces that drf-spectacular does not write down. Python's ``re`` semantics
# (``\s`` is what ``str.strip`` removes), which is what schema-driven clients such as
# Schemathesis generate from.
NO_NUL = "^[^\\x00]*$"
NOT_BLANK = "^[^\\x00]*[^\\s\\x00][^\\x00]*$"
ATTRIBUTE_FIELDS = {"attributes", "custom_attributes"}
# Every operation can meet these; documented once here rather than on every view.
COMMON_ERRORS = (404, 429, 503)
BODY_ERRORS = (400, 413)


def _strings(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The plain string schemas of a property (itself, or its oneOf branches)."""
    branches = schema.get("oneOf", [schema])
    return [b for b in branches if b.get("type") == "string" and "format" not in b
            and "enum" not in b]


def _attributes_schema() -> dict[str, Any]:
    key_length = conf.get("MAX_ATTRIBUTE_KEY_LENGTH")
    return {
        "type": "object",
        "maxProperties": conf.get("MAX_ATTRIBUTES"),
        "propertyNames": {"pattern": f"^[{chat.ATTRIBUTE_KEY_CHARS}]{{1,{key_length}}}$"},
        "additionalProperties": {
            "oneOf": [
                {"type": "string", "maxLength": conf.get("MAX_ATTRIBUTE_VALUE_LENGTH"),
                 "pattern": NO_NUL},
                {"type": "number", "minimum": -validation.MAX_INT - 1,
                 "maximum": validation.MAX_INT},
                {"type": "boolean"},
                {"type": "null"},
            ],
        },
        "description": "A flat object of scalars; the limits hold for the merged result.",
    }


def _tighten_request(name: str, component: dict[str, Any]) -> None:
    component["additionalProperties"] = False
    for field, prop in component.get("properties", {}).items():
        if field in ATTRIBUTE_FIELDS:
            component["properties"][field] = _attributes_schema()
            continue
        if field == "files":
            prop["maxItems"] = conf.get("MAX_ATTACHMENTS_PER_MESSAGE")
            prop["items"]["maxLength"] = conf.get("MAX_ATTACHMENT_SIZE")
        for string in _strings(prop):
            if field == "body":  # counted after trimming; ASCII-safe as an upper bound
                string["maxLength"] = conf.get("MAX_MESSAGE_LENGTH")
            if "pattern" in string or string.get("maxLength") == 0:
                continue  # a pattern of its own, or the "blank" branch of a oneOf
            # DRF trims, then refuses what is left blank when the field may not be.
            string["pattern"] = NOT_BLANK if string.get("minLength", 0) >= 1 else NO_NUL


def _error_response(code: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": responses.ERROR_MEANINGS[code],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if code in (429, 503):
        response["headers"] = {"Retry-After": {
            "schema": {"type": "integer", "minimum": 1},
            "description": "Seconds to wait before trying again.",
        }}
    return response


def state_every_rule(result: dict[str, Any], generator: Any, request: Any,
                     public: bool) -> dict[str, Any]:
    """Postprocessing hook: what the server enforces, written into the schema.

    Request bodies refuse unknown fields and NUL characters, blank text where text is
    required, attribute names outside the key pattern; every operation may answer a JSON
    404 (unknown id), 429 (throttled) or 503 (no database connection in time), every
    operation with a body a 400 or 413.
    """
    schemas = result.get("components", {}).get("schemas", {})
    for name, component in schemas.items():
        if name.endswith("Request"):
            _tighten_request(name, component)
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            codes = COMMON_ERRORS + (BODY_ERRORS if method in ("post", "put", "patch") else ())
            for code in codes:
                operation["responses"].setdefault(str(code), _error_response(code))
    return result


class ChatWidgetSchemaView(SpectacularAPIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [AllowAny]
    custom_settings = {
        "TITLE": "chatwidget API",
        "DESCRIPTION": (
            "Visitor and agent REST API of the chatwidget Django app. Errors are always "
            '`{"error": {"type", "message", "fields"?}}` with a 4xx status (or 503 '
            "`unavailable`, retry after `Retry-After`)."
        ),
        "VERSION": __version__,
        "COMPONENT_SPLIT_REQUEST": True,
        # 3.1 is JSON Schema proper: propertyNames states the attribute-key rule.
        "OAS_VERSION": "3.1.0",
        "PREPROCESSING_HOOKS": ["chatwidget.api.schema.only_chatwidget"],
        "POSTPROCESSING_HOOKS": [
            "drf_spectacular.hooks.postprocess_schema_enums",
            "chatwidget.api.schema.state_every_rule",
        ],
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
