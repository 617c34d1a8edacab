"""identify, logout and the site login: who a browser is, and what it may no longer read."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from chatwidget.models import Contact, Conversation, WidgetToken

from .helpers import API, assert_error, ping, send, start_conversation, user_hash


def identify(client, **data):
    return client.post(f"{API}identify/", data, format="json")


def test_identify_with_a_valid_hash_moves_the_anonymous_history_and_rotates_the_token(
    visitor_client, widget
):
    anonymous = ping(visitor_client)["contact"]
    conversation = start_conversation(visitor_client, "Before login")["conversation"]
    old_raw = visitor_client.cookies["chatwidget"].value

    response = identify(visitor_client, external_id="cust-42",
                        user_hash=user_hash(widget, "cust-42"),
                        attributes={"plan": "pro"}, email="c42@example.com", name="Cee")

    assert response.status_code == 200, response.content
    body = response.json()
    assert "token" not in body
    assert body["contact"]["externalId"] == "cust-42"
    assert body["contact"]["attributes"] == {"plan": "pro"}
    assert body["login"] == {"identified": True, "email": "c42@example.com",
                             "externalId": "cust-42", "customerId": str(body["contact"]["id"])}
    assert body["contact"]["id"] != anonymous["id"]
    assert Conversation.objects.get(pk=conversation["conversationId"]).contact_id == (
        body["contact"]["id"]
    )
    assert visitor_client.cookies["chatwidget"].value != old_raw
    stale = APIClient(HTTP_AUTHORIZATION=f"Bearer {old_raw}")
    assert_error(stale.get(f"{API}conversations/"), 401, "not_authenticated")


def test_identifying_on_a_second_device_shows_the_whole_history(make_browser, widget):
    laptop, phone = make_browser(), make_browser()
    for browser in (laptop, phone):
        ping(browser)
        assert identify(browser, external_id="cust-7",
                        user_hash=user_hash(widget, "cust-7")).status_code == 200
    created = start_conversation(laptop, "Written on the laptop")

    [seen] = phone.get(f"{API}conversations/").json()["results"]
    assert seen["conversationId"] == created["conversation"]["conversationId"]


def test_identify_again_as_the_same_identity_only_updates_attributes(visitor_client, widget):
    ping(visitor_client)
    signed = {"external_id": "cust-1", "user_hash": user_hash(widget, "cust-1")}
    first = identify(visitor_client, **signed).json()
    raw = visitor_client.cookies["chatwidget"].value

    again = identify(visitor_client, **signed, attributes={"tier": "gold"})

    assert again.status_code == 200
    assert again.json()["contact"]["id"] == first["contact"]["id"]
    assert again.json()["contact"]["attributes"] == {"tier": "gold"}
    assert visitor_client.cookies["chatwidget"].value == raw


@pytest.mark.parametrize("bad_hash", ["0" * 64, "", None], ids=["wrong", "empty", "missing"])
def test_identify_with_a_wrong_or_missing_hash_is_refused_and_changes_nothing(
    visitor_client, widget, bad_hash
):
    contact = ping(visitor_client)["contact"]
    data = {"external_id": "cust-42", "attributes": {"plan": "pro"}}
    if bad_hash is not None:
        data["user_hash"] = bad_hash

    response = identify(visitor_client, **data)

    assert_error(response, 403, "identity_verification_failed", fields=["user_hash"])
    assert not Contact.objects.filter(external_id="cust-42").exists()
    assert ping(visitor_client)["contact"] == contact


def test_a_hash_for_another_external_id_is_refused(visitor_client, widget):
    ping(visitor_client)
    response = identify(visitor_client, external_id="victim",
                        user_hash=user_hash(widget, "attacker"))

    assert_error(response, 403, "identity_verification_failed", fields=["user_hash"])


@override_settings(CHATWIDGET={"IDENTITY_VERIFICATION": False})
def test_unsigned_identify_works_only_when_verification_is_switched_off(visitor_client):
    ping(visitor_client)

    assert identify(visitor_client, external_id="trusted").status_code == 200


def test_identify_while_logged_in_to_the_site_is_a_409_and_identity_is_unchanged(
    visitor_client, user, widget
):
    visitor_client.force_login(user)
    contact = ping(visitor_client)["contact"]

    response = identify(visitor_client, external_id="cust-42",
                        user_hash=user_hash(widget, "cust-42"))

    assert_error(response, 409, "site_login_owns_identity")
    assert not Contact.objects.filter(external_id="cust-42").exists()
    assert ping(visitor_client)["contact"] == contact


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({}, ["external_id"]),
        ({"external_id": 42}, ["external_id"]),
        ({"external_id": ""}, ["external_id"]),
        ({"external_id": "x" * 256}, ["external_id"]),
        ({"external_id": "a", "user_hash": ["x"]}, ["user_hash"]),
        ({"external_id": "a", "email": "not-an-email"}, ["email"]),
        ({"external_id": "a", "attributes": {"nested": {"a": 1}}}, ["attributes"]),
    ],
    ids=["missing", "number", "blank", "too-long", "hash-list", "bad-email", "nested-attrs"],
)
def test_identify_refuses_ill_formed_input(visitor_client, data, fields):
    ping(visitor_client)
    before = Contact.objects.count()

    assert_error(identify(visitor_client, **data), 400, "invalid", fields=fields)
    assert Contact.objects.count() == before


def test_identify_needs_a_token(visitor_client, widget):
    response = identify(visitor_client, external_id="a", user_hash=user_hash(widget, "a"))

    assert_error(response, 401, "not_authenticated")


def test_a_bearer_client_learns_its_rotated_token_from_identify(db, widget):
    token = ping(APIClient(), transport="bearer")["token"]
    browser = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}")

    body = identify(browser, external_id="x1", user_hash=user_hash(widget, "x1")).json()

    assert body["token"] and body["token"] != token
    assert_error(browser.get(f"{API}conversations/"), 401, "not_authenticated")
    rotated = APIClient(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert rotated.get(f"{API}conversations/").status_code == 200


def test_after_logout_the_old_token_reads_and_writes_nothing(visitor_client):
    ping(visitor_client)
    conversation_id = start_conversation(visitor_client)["conversation"]["conversationId"]
    old_raw = visitor_client.cookies["chatwidget"].value

    response = visitor_client.post(f"{API}logout/", format="json")

    assert response.status_code == 200 and response.json() == {}
    assert visitor_client.cookies["chatwidget"].value == ""
    stolen = APIClient()
    stolen.cookies["chatwidget"] = old_raw
    bearer = APIClient(HTTP_AUTHORIZATION=f"Bearer {old_raw}")
    for client in (stolen, bearer):
        assert_error(client.get(f"{API}conversations/"), 401, "not_authenticated")
        assert_error(client.get(f"{API}conversations/{conversation_id}/messages/"), 401,
                     "not_authenticated")
        assert_error(send(client, conversation_id), 401, "not_authenticated")
    assert WidgetToken.objects.get(contact__conversations=conversation_id).revoked_at


def test_after_logout_ping_makes_a_new_anonymous_visitor_without_the_old_history(
    visitor_client,
):
    before = ping(visitor_client)["contact"]
    start_conversation(visitor_client)
    visitor_client.post(f"{API}logout/", format="json")

    after = ping(visitor_client)

    assert after["contact"]["id"] != before["id"]
    assert after["conversations"] == []


def test_logout_without_a_token_is_401(visitor_client):
    assert_error(visitor_client.post(f"{API}logout/", format="json"), 401, "not_authenticated")


def test_after_a_site_logout_the_old_token_reads_nothing(visitor_client, user):
    visitor_client.force_login(user)
    ping(visitor_client)
    conversation_id = start_conversation(visitor_client, "Private")["conversation"][
        "conversationId"]
    user_raw = visitor_client.cookies["chatwidget"].value

    visitor_client.post("/accounts/logout/")

    stolen = APIClient(HTTP_AUTHORIZATION=f"Bearer {user_raw}")
    assert_error(stolen.get(f"{API}conversations/"), 401, "not_authenticated")
    assert_error(send(stolen, conversation_id), 401, "not_authenticated")
    assert ping(visitor_client)["conversations"] == []


def test_site_login_merges_the_anonymous_history_into_the_users_contact(visitor_client, user):
    ping(visitor_client)
    created = start_conversation(visitor_client, "Asked before logging in")
    visitor_client.force_login(user)

    data = ping(visitor_client)

    assert data["site_user"] is True
    assert [c["conversationId"] for c in data["conversations"]] == [
        created["conversation"]["conversationId"]
    ]
