"""Uploaded files: what they really are, whether they are allowed, and storing them safely.

A browser's declared content type and the file name's extension are claims an attacker
controls, so the type is read from the file's first bytes (magic numbers) and checked
against ``CHATWIDGET["ATTACHMENT_TYPES"]``. Text that a browser would sniff as HTML, SVG or
XML is classified as such (and so refused unless allow-listed): a ``.png`` carrying
``<script>`` must never become a page on the site's origin.

Files are written only inside the transaction that creates their message and deleted again
if that transaction does not commit, so a refused request leaves nothing behind.
"""

from __future__ import annotations

import codecs
import os
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from . import chat, conf
from .models import Attachment, Conversation

SNIFF_BYTES = 8192

# Raster formats browsers render without running anything: safe to show inline.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

_MAGIC: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),  # an empty archive
]

# What the WHATWG MIME sniffing algorithm treats as markup, checked case-insensitively
# after leading whitespace. Browsers ignoring nosniff would render these as documents.
_MARKUP: list[tuple[bytes, str]] = [
    (b"<?xml", "text/xml"),
    (b"<svg", "image/svg+xml"),
    *(
        (tag, "text/html")
        for tag in (
            b"<!doctype html", b"<html", b"<head", b"<script", b"<iframe", b"<h1", b"<div",
            b"<font", b"<table", b"<a", b"<style", b"<title", b"<b", b"<body", b"<br", b"<p",
            b"<!--",
        )
    ),
]
# Stricter than WHATWG (which only takes space and ">"): any of these ends a tag name.
_TAG_ENDS = frozenset(b" \t\n\x0c\r>/")

# Control characters never found in plain text (tab, newlines and form feed are fine).
_BINARY_CONTROLS = frozenset(range(0x00, 0x09)) | {0x0B} | frozenset(range(0x0E, 0x20)) | {0x7F}


class AttachmentError(chat.ChatError):
    """A refused upload; always about the ``files`` field of the request."""

    def __init__(self, message: str, *, type: str = "invalid_attachment") -> None:
        super().__init__(message, field="files")
        self.type = type


@dataclass(frozen=True)
class CheckedUpload:
    file: UploadedFile
    name: str
    content_type: str
    size: int


def sniff(head: bytes) -> str:
    """The content type the bytes themselves declare; ``application/octet-stream`` if none."""
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    text = head.lstrip(b"\t\n\x0c\r ").lower()
    if text.startswith(codecs.BOM_UTF8):
        text = text[len(codecs.BOM_UTF8):].lstrip(b"\t\n\x0c\r ")
    for prefix, content_type in _MARKUP:
        if text.startswith(prefix) and (
            prefix in (b"<?xml", b"<!--")
            or len(text) == len(prefix)
            or text[len(prefix)] in _TAG_ENDS
        ):
            return content_type
    if _is_text(head):
        return "text/plain"
    return "application/octet-stream"


def _is_text(head: bytes) -> bool:
    if not head or any(byte in _BINARY_CONTROLS for byte in head):
        return False
    try:
        # Incremental, so a multi-byte character cut off at the sample's end is not an error.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def clean_name(name: str | None) -> str:
    """A display name only: no path, no control characters, bounded length."""
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    stem, ext = os.path.splitext(name)
    if len(name) > 200:
        name = stem[: 200 - len(ext[:20])] + ext[:20]
    return name or "attachment"


def check_uploads(files: Sequence[UploadedFile]) -> list[CheckedUpload]:
    """Validate every file before anything is stored; the first refusal ends the request."""
    limit = conf.get("MAX_ATTACHMENTS_PER_MESSAGE")
    if len(files) > limit:
        raise AttachmentError(f"At most {limit} files per message.",
                              type="too_many_attachments")
    max_size = conf.get("MAX_ATTACHMENT_SIZE")
    allowed = set(conf.get("ATTACHMENT_TYPES"))
    checked = []
    for upload in files:
        name = clean_name(upload.name)
        if not upload.size:
            raise AttachmentError(f"{name} is empty.")
        if upload.size > max_size:
            raise AttachmentError(f"{name} is larger than {max_size} bytes.",
                                  type="attachment_too_large")
        upload.seek(0)
        content_type = sniff(upload.read(SNIFF_BYTES))
        upload.seek(0)
        if content_type not in allowed:
            raise AttachmentError(f"{name}: files of type {content_type} are not allowed.",
                                  type="attachment_type_not_allowed")
        checked.append(CheckedUpload(upload, name, content_type, upload.size))
    return checked


def post_with_attachments(
    conversation: Conversation,
    uploads: Sequence[CheckedUpload],
    post: Callable[[list[Attachment]], chat.Result],
) -> chat.Result:
    """Store the files and post their message atomically: all of it, or none of it.

    When the message turns out to be a repeat (its ``client_id`` was seen before), the new
    copies are discarded and the original message is returned.
    """
    stored: list[Attachment] = []
    try:
        with transaction.atomic():
            for upload in uploads:
                attachment = Attachment(
                    conversation=conversation,
                    name=upload.name,
                    size=upload.size,
                    content_type=upload.content_type,
                )
                attachment.file.save(upload.name, upload.file, save=False)
                stored.append(attachment)
                attachment.save()
            result = post(stored)
            if not result.created:
                raise _Repeat(result)
    except _Repeat as repeat:
        _delete_files(stored)
        return repeat.result
    except BaseException:
        _delete_files(stored)
        raise
    return result


class _Repeat(Exception):
    def __init__(self, result: chat.Result) -> None:
        super().__init__()
        self.result = result


def _delete_files(attachments: Sequence[Attachment]) -> None:
    for attachment in attachments:
        if attachment.file.name:
            attachment.file.storage.delete(attachment.file.name)
