"""The OpenAPI schema documents the whole API, validates, and needs no project settings."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.validation import validate_schema
from rest_framework.views import APIView

import chatwidget.urls
from chatwidget.api.base import ChatWidgetAPIView

from .helpers import API


@pytest.fixture
def schema(client, db):
    GENERATOR_STATS.reset()
    response = client.get(f"{API}schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_validates_without_generator_warnings(schema):
    validate_schema(schema)
    assert not GENERATOR_STATS, "drf-spectacular emitted warnings or errors"


def test_the_schema_covers_every_endpoint_and_nothing_else(schema):
    assert set(schema["paths"]) == {
        f"{API}{path}" for path in (
            "ping/", "identify/", "attributes/", "logout/", "conversations/",
            "conversations/{id}/", "conversations/{id}/messages/",
            "conversations/{id}/describe/", "conversations/{id}/read/",
            "agent/conversations/", "agent/conversations/{id}/",
            "agent/conversations/{id}/messages/", "agent/conversations/{id}/assign/",
            "agent/conversations/{id}/close/", "agent/conversations/{id}/reopen/",
            "agent/conversations/{id}/read/", "agent/contacts/{id}/",
            "agent/", "agent/conversations/{id}/notes/", "agent/saved-replies/",
            "agent/agents/",
            "agent/contacts/{id}/export/", "agent/contacts/{id}/erase/",
        )
    } | {"/chatwidget/attachments/{id}/"}


def test_the_schema_documents_request_bodies_and_the_error_shape(schema):
    send = schema["paths"][f"{API}conversations/{{id}}/messages/"]["post"]
    assert set(send["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert send["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert {"widgetCookie", "widgetBearer"} <= set(schema["components"]["securitySchemes"])


def test_the_schema_states_the_rules_the_server_enforces(schema):
    components = schema["components"]["schemas"]
    requests = {name: c for name, c in components.items() if name.endswith("Request")}
    assert requests and all(c["additionalProperties"] is False for c in requests.values())
    attributes = components["AttributesRequest"]["properties"]["attributes"]
    assert attributes["propertyNames"]["pattern"] == "^[A-Za-z0-9_.-]{1,64}$"
    assert attributes["maxProperties"] == 50
    body = components["MessageTextRequest"]["properties"]["body"]
    assert body["minLength"] == 1 and body["maxLength"] == 5000
    assert "\\S" in body["pattern"] or "\\s" in body["pattern"]
    assignee = next(p for p in schema["paths"][f"{API}agent/conversations/"]["get"]
                    ["parameters"] if p["name"] == "assignee")
    assert assignee["schema"]["pattern"] == "^(me|none|[1-9][0-9]{0,18})$"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"404", "429", "503"} <= set(responses), (method, path)
            assert "Retry-After" in responses["429"]["headers"]
            assert "Retry-After" in responses["503"]["headers"]
            if method == "post":
                assert {"400", "413"} <= set(responses), (method, path)


def _views(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
            yield pattern.callback.cls


def test_every_api_view_names_its_authentication_and_permissions():
    views = [cls for cls in _views(get_resolver(chatwidget.urls).url_patterns)
             if issubclass(cls, ChatWidgetAPIView)]

    assert len(views) == 24
    for cls in views:
        assert cls.authentication_classes is not APIView.authentication_classes, cls
        assert cls.permission_classes is not APIView.permission_classes, cls
