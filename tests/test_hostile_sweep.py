"""Every REST operation and every socket frame type, fed a corpus of hostile values.

The REST operations are read from the app's own OpenAPI schema and the frame types from
the consumers' ``frame_handlers``, so a new endpoint or frame is swept without editing
this file. Each answer must be a documented refusal (a 4xx with the JSON error shape, an
``error`` frame with a code) or a success, never a 500, a ``server_error`` frame or a
logged ERROR; afterwards the visitor's and the agents' lists still serialise.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from chatwidget import chat
from chatwidget.consumers import AgentConsumer, VisitorConsumer

from .channels import sockets
from .channels.conftest import new_browser

pytestmark = pytest.mark.usefixtures("no_error_logs")

API = "/chatwidget/api/"


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"a": [value]}
    return value


# Hostile values, as JSON-able Python values. Strings with lone surrogates are encoded
# by json.dumps as \ud800 escapes, exactly what a hostile client sends.
CORPUS: list[Any] = [
    "\ud800", "a\udfffb", "\udc00\ud800", "\x00", "nul\x00byte", "\\u0000",
    "١٢", "²", "٣", "99999999999999999999", "-1", "1e3", "0x10", " 7 ", "",
    " ", "\t\n", 2**63, 2**64, -(2**63) - 1, -1, 0, 1.5, 1e308, -0.0,
    None, True, False, [], {}, [1, 2, 3], nested(40), nested(8),
    "x" * 70_000, "é" * 3000,
    {"__proto__": {"isAdmin": True}}, "__proto__", "constructor", "toString",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "javascript:alert(1)",
    "\u202egpj.exe", "\u200b\u200d\ufeff", "' OR 1=1 --", "../../etc/passwd",
    "%00", "%ED%A0%80", "\U0001f4a9" * 100, {"a": "\ud800"}, {"\ud800": 1}, {"\x00": 1},
    {"k" * 300: 1}, {str(i): i for i in range(200)},
]
PATH_IDS = ["abc", "-1", "1.5", "%D9%A1%D9%A2", "%C2%B2", "99999999999999999999",
            "9223372036854775808", "%00", "0", "1e3"]


def corpus_id(value: Any) -> str:
    return re.sub(r"\W+", "_", repr(value)[:24])


def assert_documented(response: Any, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.content[:300])
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("application/json"), (what, response)
        error = response.json()["error"]
        assert isinstance(error["type"], str) and isinstance(error["message"], str), what


# ---------------------------------------------------------------- REST


def operations(schema: dict) -> list[tuple[str, str, dict]]:
    return [(path, method, operation) for path, methods in schema["paths"].items()
            for method, operation in methods.items()]


def body_fields(schema: dict, operation: dict) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref")
    if not ref:
        return []
    return list(schema["components"]["schemas"][ref.split("/")[-1]].get("properties", {}))


def query_fields(operation: dict) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]


def query_url(url: str, field: str, value: Any) -> str:
    """``url?field=value``, percent-encoded as raw bytes: a lone surrogate goes out as the
    bytes a hostile client would send (``%ED%A0%80``), which no HTTP library would build."""
    text = value if isinstance(value, str) else json.dumps(value)
    return f"{url}?{quote(field)}={quote(text.encode('utf-8', 'surrogatepass'))}"


@pytest.fixture
def clients(db, agent, widget):
    visitor = APIClient()
    assert visitor.post(f"{API}ping/", {}, format="json").status_code == 200
    conversation = visitor.post(f"{API}conversations/", {"body": "Hi"}, format="json")
    conversation_id = conversation.json()["conversation"]["conversationId"]
    staff = APIClient()
    staff.force_login(agent)
    return {"visitor": visitor, "agent": staff, "conversation_id": conversation_id}


@pytest.fixture
def no_throttles(settings):
    settings.CHATWIDGET = {
        "THROTTLE_RATES": dict.fromkeys(["ping_ip", "ping_contact", "identify_ip",
                                         "identify_contact", "conversation_ip",
                                         "conversation_contact", "message_ip"]),
        "RATE_LIMIT_MESSAGES": 1_000_000,
    }


@pytest.mark.parametrize("role", ["visitor", "agent"])
def test_every_rest_operation_survives_the_corpus(clients, no_throttles, role):
    client = clients[role]
    schema = client.get(f"{API}schema/", {"format": "json"}).json()
    swept = 0
    for path, method, operation in operations(schema):
        if operation.get("operationId") == "logout":
            continue  # would end the identity the sweep runs as; swept last, below
        url = path.replace("{id}", str(clients["conversation_id"]))
        call = getattr(client, method)
        for value in CORPUS:
            for field in body_fields(schema, operation):
                response = client.generic(method.upper(), url, json.dumps({field: value}),
                                          content_type="application/json")
                assert_documented(response, (role, method, path, field, corpus_id(value)))
                swept += 1
            for field in query_fields(operation):
                assert_documented(call(query_url(url, field, value)),
                                  (role, method, path, field, corpus_id(value)))
                swept += 1
            if method == "post":  # the whole body hostile
                response = client.generic("POST", url, json.dumps(value),
                                          content_type="application/json")
                assert_documented(response, (role, path, "body", corpus_id(value)))
                swept += 1
        if "{id}" in path:
            for bad in PATH_IDS:
                response = call(path.replace("{id}", bad))
                assert_documented(response, (role, method, path, bad))
                if bad != "0":  # no route matches: the API's JSON 404, whoever asks
                    assert response.status_code == 404, (path, bad, response.status_code)
                swept += 1
    assert swept > 1000
    # Nothing stored by the sweep breaks the lists every client reads.
    assert clients["visitor"].post(f"{API}ping/", {}, format="json").status_code == 200
    assert clients["agent"].get(f"{API}agent/conversations/").status_code == 200
    logout = clients["visitor"].generic("POST", f"{API}logout/", json.dumps({"x": "\ud800"}),
                                        content_type="application/json")
    assert_documented(logout, "logout")  # logout reads no body: a hostile one is ignored


# ---------------------------------------------------------------- sockets

# Every field name any frame reads; each hostile value goes into each of them.
FRAME_FIELDS = ["type", "conversationId", "body", "clientId", "typing", "lastReadId",
                "after", "token"]
SOCKET_CORPUS = [v for v in CORPUS if not (isinstance(v, str) and len(v) > 10_000)]


async def reply(socket) -> list[dict[str, Any]]:
    """Everything the socket answered to one frame: up to the pong that follows it."""
    await sockets.send(socket, type="ping")
    frames = []
    while True:
        frame = await sockets.receive(socket)
        if frame["type"] == "pong":
            return frames
        frames.append(frame)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("consumer", [VisitorConsumer, AgentConsumer],
                         ids=["visitor", "agent"])
async def test_every_frame_type_survives_the_corpus(settings, widget, agent, consumer):
    settings.CHATWIDGET = {"RATE_LIMIT_MESSAGES": 1_000_000}
    browser = await sync_to_async(new_browser)(widget)
    if consumer is VisitorConsumer:
        socket = await sockets.visitor(browser.raw)
    else:
        client = APIClient()
        await sync_to_async(client.force_login)(agent)
        socket = await sockets.agent({"sessionid": client.cookies["sessionid"].value})
    swept = 0
    for kind in consumer.frame_handlers:
        for value in SOCKET_CORPUS:
            for field in FRAME_FIELDS:
                frame = {"type": kind, "conversationId": browser.conversation.pk,
                         "body": "ok", field: value}
                await socket.send_to(text_data=json.dumps(frame))
                for answer in await reply(socket):
                    assert answer["type"] != "error" or (
                        answer["code"] != "server_error" and answer["message"]
                    ), (kind, field, corpus_id(value), answer)
                swept += 1
    assert swept > 1000
    await socket.disconnect()
    # What the sweep stored still serialises for both sides.
    await sync_to_async(chat.unread_for_contact)(browser.contact)
    client = APIClient()
    client.cookies["chatwidget"] = browser.raw
    response = await sync_to_async(client.post)(f"{API}ping/", {}, format="json")
    assert response.status_code == 200
