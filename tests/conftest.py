from __future__ import annotations

import logging

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from chatwidget import agents, identity, ratelimit


@pytest.fixture
def widget(db):
    return identity.get_widget()


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(
        "alice", email="alice@example.com", password="pw-alice-123", first_name="Alice"
    )


@pytest.fixture
def other_user(db):
    return get_user_model().objects.create_user(
        "bob", email="bob@example.com", password="pw-bob-123"
    )


@pytest.fixture
def agent(db):
    agent = get_user_model().objects.create_user(
        "agent", email="agent@example.com", password="pw-agent-123", is_staff=True,
        first_name="Ada",
    )
    agent.user_permissions.add(Permission.objects.get(codename="use_inbox"))
    return get_user_model().objects.get(pk=agent.pk)


@pytest.fixture
def visitor_client(db):
    """A browser: an APIClient keeps cookies between requests like a browser does."""
    return APIClient()


@pytest.fixture
def make_browser(db):
    return APIClient


@pytest.fixture
def agent_client(agent):
    client = APIClient()
    client.force_login(agent)
    return client


@pytest.fixture
def no_error_logs(caplog):
    """A refusal is not a server error: bad input may not log anything at ERROR level."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Every test starts with empty throttle counters (all tests come from one address)."""
    ratelimit.cache().clear()
    yield


@pytest.fixture(autouse=True)
def fresh_presence():
    """A test's rolled-back presence rows send no signal: no test sees another's."""
    agents.forget_shown_online()
    yield
    agents.forget_shown_online()
