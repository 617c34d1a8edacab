"""The app's settings: one ``CHATWIDGET`` dict merged over documented defaults.

Read lazily and cached; the cache is cleared on ``setting_changed`` so that
``override_settings(CHATWIDGET=...)`` works in tests. Every key is listed, with its
meaning, in docs/settings.md.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULTS: dict[str, Any] = {
    # Identity
    "COOKIE_NAME": "chatwidget",
    "COOKIE_AGE": 60 * 60 * 24 * 365,
    "COOKIE_DOMAIN": None,
    "COOKIE_PATH": "/",
    # None follows SESSION_COOKIE_SECURE, so the widget cookie is as safe as the login.
    "COOKIE_SECURE": None,
    "IDENTITY_VERIFICATION": True,
    "MERGE_ON_IDENTIFY": True,
    "ADAPTER": "chatwidget.adapter.ChatWidgetAdapter",
    "DEFAULT_APP_ID": "default",
    # Content limits
    "MAX_MESSAGE_LENGTH": 5000,
    "MAX_ATTACHMENT_SIZE": 10 * 1024 * 1024,
    "MAX_ATTACHMENTS_PER_MESSAGE": 5,
    "ATTACHMENT_TYPES": [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
        "text/plain",
        "application/zip",
    ],
    "MAX_ATTRIBUTES": 50,
    "MAX_ATTRIBUTE_KEY_LENGTH": 64,
    "MAX_ATTRIBUTE_VALUE_LENGTH": 1000,
    # Realtime
    "MAX_FRAME_SIZE": 64 * 1024,
    "RATE_LIMIT_MESSAGES": 30,
    "RATE_LIMIT_WINDOW": 10,
    "RESUME_LIMIT": 500,
    # Threads running the sockets' database work, per process, when the database is not
    # SQLite (each keeps its own connection); SQLite keeps Channels' one thread (one writer).
    "DATABASE_THREADS": 4,
    # Seconds between a socket's re-checks of its session, token and agent permission.
    "REVALIDATE_INTERVAL": 30,
    # Origins allowed to embed the widget cross-origin with a bearer token (in addition
    # to each Widget's own allowed_origins).
    "ALLOWED_ORIGINS": [],
    # Pages per API list
    "PAGE_SIZE": 50,
    # Consent-first widget: no cookie, token or socket until chatwidget.consent(true)
    # (or, with CONSENT_ON_OPEN, the visitor opening the chat).
    "REQUIRE_CONSENT": False,
    "CONSENT_ON_OPEN": True,
    # Throttles (REST; messages share RATE_LIMIT_MESSAGES with the sockets). Counters live
    # in this Django cache alias, so every worker sees the same counts when it is shared
    # (Redis); a per-process cache (LocMem) counts per worker.
    "CACHE": "default",
    # DRF rate strings ("N/s", "N/min", "N/hour", "N/day"); None turns one off.
    "THROTTLE_RATES": {
        "ping_ip": "120/min",
        "ping_contact": "60/min",
        "identify_ip": "30/min",
        "identify_contact": "10/min",
        "conversation_ip": "60/min",
        "conversation_contact": "20/min",
        "message_ip": "300/min",
    },
    # Bytes of uploads a contact may send per UPLOAD_QUOTA_WINDOW seconds.
    "UPLOAD_QUOTA": 100 * 1024 * 1024,
    "UPLOAD_QUOTA_WINDOW": 60 * 60,
    # Agents: an agent socket silent for this many seconds no longer counts as online.
    "PRESENCE_TIMEOUT": 60,
    # Data rights and lifecycle (docs/data-rights.md)
    "ERASE_MODE": "delete",
    "RETENTION_DAYS": None,
    "ANONYMOUS_TOKEN_IDLE_DAYS": 90,
    "TOKEN_MAX_AGE_DAYS": 365,
}


@cache
def get_config() -> dict[str, Any]:
    user = getattr(django_settings, "CHATWIDGET", None) or {}
    unknown = set(user) - set(DEFAULTS)
    config = {**DEFAULTS, **user}
    config["_unknown"] = sorted(unknown)
    return config


def get(key: str) -> Any:
    return get_config()[key]


@receiver(setting_changed)
def _reset_config(*, setting: str, **kwargs: Any) -> None:
    if setting in {"CHATWIDGET", "SESSION_COOKIE_SECURE"}:
        get_config.cache_clear()


def cookie_secure() -> bool:
    value = get("COOKIE_SECURE")
    return django_settings.SESSION_COOKIE_SECURE if value is None else bool(value)
