from __future__ import annotations

import pytest

from .helpers import ping, start_conversation


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploads land in a per-test directory, so tests can count the files left behind."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The user fixtures hash passwords; the API tests are not about hashing strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def browser(visitor_client):
    """A browser that has pinged: it holds a widget cookie for an anonymous contact."""
    ping(visitor_client)
    return visitor_client


@pytest.fixture
def conversation_id(browser):
    return start_conversation(browser, "First")["conversation"]["conversationId"]
