"""A merge can never fail the site's login or an identify (issue 12), through the real views."""

from __future__ import annotations

import logging

import pytest
from django.db import DatabaseError
from django.test import Client
from rest_framework.test import APIClient

from chatwidget import identity
from chatwidget.models import Contact, Conversation, Message

from ..api.helpers import API, ping, send, start_conversation, user_hash
from .test_site_login import COOKIE, browser_token, site_login

pytestmark = pytest.mark.django_db


def chatted(client, body: str, client_id: str) -> None:
    conversation = start_conversation(client, body="first")["conversation"]
    response = send(client, conversation["conversationId"], body, client_id=client_id)
    assert response.status_code == 201, response.content


def two_browsers_with_one_client_id(user, logged_in: str, anonymous: str, client_id: str):
    """The user chatted on a laptop; this browser chatted anonymously, same client_id."""
    laptop = APIClient()
    laptop.force_login(user)
    ping(laptop)
    chatted(laptop, logged_in, client_id)
    browser = APIClient()
    ping(browser)
    chatted(browser, anonymous, client_id)
    return laptop, browser


def test_a_login_succeeds_when_both_contacts_used_the_same_client_id(widget, user):
    _, browser = two_browsers_with_one_client_id(
        user, "mine, logged in", "mine, anonymous", "tab-1-msg-1")

    response = site_login(browser, "alice", "pw-alice-123")

    assert response.status_code == 302
    assert "sessionid" in response.cookies  # the session was saved
    contact = browser_token(browser).contact
    assert contact.user == user
    bodies = set(Message.objects.filter(contact=contact).values_list("body", flat=True))
    assert {"mine, logged in", "mine, anonymous"} <= bodies
    keys = contact.messages.filter(body__startswith="mine").values_list("client_id", flat=True)
    assert len(set(keys)) == 2


def test_a_moved_message_keeps_its_retry_key_apart_from_the_users_own(widget, user):
    laptop, browser = two_browsers_with_one_client_id(user, "logged in", "anonymous",
                                                      "same-id")
    site_login(browser, "alice", "pw-alice-123")
    conversation = Message.objects.get(contact__user=user, body="logged in").conversation

    retry = send(laptop, conversation.pk, "logged in", client_id="same-id")

    # The user's own message still answers its retry: the moved one was re-keyed.
    assert retry.status_code == 200
    assert retry.json()["message"]["body"] == "logged in"


def test_identify_succeeds_when_both_contacts_used_the_same_client_id(widget):
    phone = APIClient()
    ping(phone)
    phone.post(f"{API}identify/", {"external_id": "cust-1",
                                  "user_hash": user_hash(widget, "cust-1")}, format="json")
    chatted(phone, "from the phone", "m-1")
    browser = APIClient()
    ping(browser)
    chatted(browser, "from the browser", "m-1")

    response = browser.post(f"{API}identify/", {"external_id": "cust-1",
                                                "user_hash": user_hash(widget, "cust-1")},
                            format="json")

    assert response.status_code == 200, response.content
    contact = Contact.objects.get(external_id="cust-1")
    assert set(contact.messages.values_list("body", flat=True)) >= {
        "from the phone", "from the browser"}


def test_a_merge_keeps_the_attribute_limit(widget, user, settings):
    settings.CHATWIDGET = {"MAX_ATTRIBUTES": 3}
    users_contact = identity.contact_for_user(widget, user)
    users_contact.attributes = {"plan": "pro", "seats": 4}
    users_contact.save()
    anonymous = identity.create_anonymous(widget)
    anonymous.token.contact.attributes = {"a": 1, "b": 2, "plan": "free"}
    anonymous.token.contact.save()
    client = Client()
    client.cookies[COOKIE] = anonymous.raw

    site_login(client, "alice", "pw-alice-123")

    attributes = Contact.objects.get(pk=users_contact.pk).attributes
    assert len(attributes) == 3
    assert attributes["plan"] == "pro"  # the identified contact's own value wins


def test_a_database_error_in_the_merge_rotates_without_merging_and_says_why(
    widget, user, monkeypatch, caplog
):
    """The last resort: whatever breaks in the merge, the site login still works."""
    anonymous = identity.create_anonymous(widget)
    Conversation.objects.create(widget=widget, contact=anonymous.token.contact)
    client = Client()
    client.cookies[COOKIE] = anonymous.raw

    def broken(source, target):
        raise DatabaseError("disk full")

    monkeypatch.setattr(identity, "_move_history", broken)
    with caplog.at_level(logging.ERROR, logger="chatwidget.identity"):
        response = site_login(client, "alice", "pw-alice-123")

    assert response.status_code == 302
    assert browser_token(client).contact.user == user
    assert identity.resolve_token(anonymous.raw) is None
    assert Conversation.objects.get().contact_id == anonymous.token.contact_id
    assert "not merged" in caplog.text


def test_a_login_keeps_the_users_own_email_over_the_one_typed_anonymously(widget, user):
    """The email the visitor typed before logging in fills a blank, never replaces the
    user's own: agents keep replying to the address the account holds."""
    browser = APIClient()
    ping(browser)
    response = browser.post(f"{API}attributes/", {"attributes": {}, "email": "typo@example.com"},
                            format="json")
    assert response.status_code == 200, response.content

    site_login(browser, "alice", "pw-alice-123")

    assert browser_token(browser).contact.email == "alice@example.com"


def test_identify_ends_the_merged_visitors_other_tabs_and_no_one_elses(widget):
    """Another tab of the same anonymous visitor holds its own token (a concurrent first
    ping): once its history belongs to the identified contact, that token must end too."""
    this_tab = identity.create_anonymous(widget)
    other_tab = identity.issue_token(this_tab.token.contact)
    stranger = identity.create_anonymous(widget)

    issued = identity.identify_external(this_tab.token, widget, "ext-42",
                                        user_hash=user_hash(widget, "ext-42"))

    assert issued is not None
    assert identity.resolve_token(other_tab.raw) is None
    assert identity.resolve_token(this_tab.raw) is None
    assert identity.resolve_token(stranger.raw).contact_id == stranger.token.contact_id
    assert identity.resolve_token(issued.raw).contact.external_id == "ext-42"
