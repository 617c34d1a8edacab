"""Small steps the API tests share: a browser pinging, posting, and the error shape."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

API = "/chatwidget/api/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
HTML = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"


def ping(client: Any, **data: Any) -> dict:
    response = client.post(f"{API}ping/", data, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def start_conversation(client: Any, body: str = "Hello", **data: Any) -> dict:
    response = client.post(f"{API}conversations/", {"body": body, **data}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def send(client: Any, conversation_id: int, body: str = "Hi", **data: Any) -> Any:
    return client.post(f"{API}conversations/{conversation_id}/messages/",
                       {"body": body, **data}, format="json")


def upload(name: str = "photo.png", content: bytes = PNG,
           content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def user_hash(widget: Any, external_id: str) -> str:
    return hmac.new(widget.identity_secret.encode(), external_id.encode(),
                    hashlib.sha256).hexdigest()


def assert_error(response: Any, status: int, type: str,
                 fields: list[str] | None = None) -> dict:
    """The one error shape: ``{"error": {"type", "message", "fields"?}}``."""
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["type"] == type, error
    assert isinstance(error["message"], str) and error["message"]
    if fields is None:
        assert "fields" not in error, error
    else:
        assert sorted(error["fields"]) == sorted(fields), error
        assert all(isinstance(m, str) for ms in error["fields"].values() for m in ms)
    return error


def stored_files(media_root: Path) -> list[Path]:
    return [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []


AGENT = f"{API}agent/"


def listed(client: Any, **query: Any) -> dict:
    """The agents' conversation list, as a successful response's JSON."""
    response = client.get(f"{AGENT}conversations/", query)
    assert response.status_code == 200, response.content
    return response.json()


def ids(data: dict) -> list[int]:
    return [row["conversationId"] for row in data["results"]]
