"""Guards the security-critical code relies on, each tested on its own (issue 12's
mutation survivors): a bug planted in any one of them makes a test here fail."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from chatwidget import identity
from chatwidget.models import WidgetToken

from .helpers import API, assert_error, ping, start_conversation, user_hash
from .helpers import upload as make_upload
from .test_attachments import post_files

COOKIE = "chatwidget"


@pytest.mark.parametrize("length", [1, 32, 63])
def test_a_prefix_of_the_user_hash_is_refused(visitor_client, widget, length):
    ping(visitor_client)
    good = user_hash(widget, "cust-1")

    response = visitor_client.post(f"{API}identify/", {
        "external_id": "cust-1", "user_hash": good[:length]}, format="json")

    assert_error(response, 403, "identity_verification_failed", ["user_hash"])


def test_the_full_user_hash_in_upper_case_is_accepted(visitor_client, widget):
    ping(visitor_client)

    response = visitor_client.post(f"{API}identify/", {
        "external_id": "cust-1", "user_hash": user_hash(widget, "cust-1").upper()},
        format="json")

    assert response.status_code == 200


def test_a_logged_in_non_agent_cannot_download_anothers_attachment(
    browser, conversation_id, user
):
    url = post_files(browser, conversation_id, [make_upload()]).json()["message"][
        "attachments"][0]["url"]
    someone = APIClient()
    someone.force_login(user)

    assert someone.get(url).status_code == 404


def test_staff_without_the_inbox_permission_cannot_download_attachments(
    browser, conversation_id
):
    url = post_files(browser, conversation_id, [make_upload()]).json()["message"][
        "attachments"][0]["url"]
    staff = get_user_model().objects.create_user("staff", password="x", is_staff=True)
    client = APIClient()
    client.force_login(staff)

    assert client.get(url).status_code == 404


def test_a_login_rotates_even_a_token_that_already_names_the_user(widget, user):
    """No token outlives a login (fixation), even one already bound to that user."""
    issued = identity.login_user(None, user, widget)
    client = Client()
    client.cookies[COOKIE] = issued.raw

    client.post("/accounts/login/", {"username": "alice", "password": "pw-alice-123"})

    assert client.cookies[COOKIE].value not in ("", issued.raw)
    assert WidgetToken.objects.get(pk=issued.token.pk).revoked_at is not None


def test_identify_is_refused_for_a_logged_in_site_user_holding_an_anonymous_token(
    widget, user
):
    """The first refusal alone: the site session, whatever the token names."""
    anonymous = identity.create_anonymous(widget)

    with pytest.raises(identity.SiteLoginOwnsIdentity):
        identity.identify_external(anonymous.token, widget, "cust-1",
                                   user_hash=user_hash(widget, "cust-1"), site_user=user)

    assert identity.resolve_token(anonymous.raw) is not None


def test_identify_is_refused_for_a_token_bound_to_a_site_user_without_its_session(
    widget, user
):
    """The second refusal alone: the token names a site user, the session is gone."""
    users = identity.login_user(None, user, widget)

    with pytest.raises(identity.SiteLoginOwnsIdentity):
        identity.identify_external(users.token, widget, "cust-1",
                                   user_hash=user_hash(widget, "cust-1"), site_user=None)

    assert identity.resolve_token(users.raw) is not None


@pytest.mark.parametrize("method,path", [
    ("post", "ping/"), ("get", "conversations/"), ("post", "logout/"),
])
def test_responses_that_set_or_depend_on_the_cookie_are_never_cached(
    browser, method, path
):
    response = getattr(browser, method)(f"{API}{path}", {}, format="json")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_the_site_login_response_that_sets_the_cookie_is_never_cached(widget, user):
    response = Client().post("/accounts/login/",
                             {"username": "alice", "password": "pw-alice-123"})

    assert COOKIE in response.cookies
    assert "no-store" in response["Cache-Control"]


def test_an_agents_conversation_list_is_never_cached(agent_client, browser):
    start_conversation(browser)

    response = agent_client.get(f"{API}agent/conversations/")

    assert "no-store" in response["Cache-Control"]
