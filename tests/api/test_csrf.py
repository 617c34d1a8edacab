"""The widget cookie rides along on cross-site requests, so cookie writes need the CSRF token."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from chatwidget.models import Conversation

from .helpers import API, assert_error, ping


@pytest.fixture
def strict_browser(db):
    return APIClient(enforce_csrf_checks=True)


def test_ping_needs_no_csrf_token(strict_browser):
    assert strict_browser.post(f"{API}ping/", {}, format="json").status_code == 200


def test_a_cookie_write_without_the_csrf_token_is_refused(strict_browser):
    ping(strict_browser)

    response = strict_browser.post(f"{API}conversations/", {"body": "forged"}, format="json")

    assert_error(response, 403, "csrf_failed")
    assert not Conversation.objects.exists()


def test_a_cookie_write_with_the_token_from_ping_is_accepted(strict_browser):
    csrf_token = ping(strict_browser)["csrf_token"]

    response = strict_browser.post(f"{API}conversations/", {"body": "real"}, format="json",
                                   HTTP_X_CSRFTOKEN=csrf_token)

    assert response.status_code == 201


def test_cookie_reads_need_no_csrf_token(strict_browser):
    ping(strict_browser)

    assert strict_browser.get(f"{API}conversations/").status_code == 200


def test_a_refused_csrf_check_does_not_cost_a_logged_in_user_their_chat_identity(
    strict_browser, user
):
    strict_browser.force_login(user)
    contact = ping(strict_browser)["contact"]
    raw = strict_browser.cookies["chatwidget"].value

    assert strict_browser.post(f"{API}logout/", format="json").status_code == 403

    assert strict_browser.cookies["chatwidget"].value == raw
    assert ping(strict_browser)["contact"] == contact


def test_agent_writes_need_the_csrf_token(agent, widget):
    strict_agent = APIClient(enforce_csrf_checks=True)
    strict_agent.force_login(agent)
    conversation = Conversation.objects.create(
        widget=widget, contact=widget.contacts.create()
    )

    response = strict_agent.post(f"{API}agent/conversations/{conversation.pk}/close/")

    assert_error(response, 403, "csrf_failed")
