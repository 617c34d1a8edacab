"""Conversations and messages from the visitor's side: ownership, idempotency, bad input."""

from __future__ import annotations

import pytest
from django.test import override_settings

from chatwidget import chat
from chatwidget.models import Conversation, Message

from .helpers import API, assert_error, send, start_conversation


def messages_url(conversation_id):
    return f"{API}conversations/{conversation_id}/messages/"


def test_starting_a_conversation_with_a_first_message(browser):
    data = start_conversation(browser, "  Where is my parcel?  ", client_id="c-1",
                              custom_attributes={"page": "/orders"})

    assert data["conversation"]["status"] == "open"
    assert data["conversation"]["customAttributes"] == {"page": "/orders"}
    assert data["message"]["body"] == "Where is my parcel?"
    assert data["message"]["clientId"] == "c-1"
    assert data["message"]["sender"]["kind"] == "contact"
    assert data["conversation"]["lastMessageAt"] == data["message"]["createdAt"]


def test_starting_a_conversation_without_a_message(browser):
    response = browser.post(f"{API}conversations/", {}, format="json")

    assert response.status_code == 201
    assert response.json()["message"] is None


def test_retrying_a_conversation_start_with_the_same_client_id_makes_one_of_each(browser):
    first = start_conversation(browser, "Hello", client_id="start-1")
    retry = browser.post(f"{API}conversations/", {"body": "Hello", "client_id": "start-1"},
                         format="json")

    assert retry.status_code == 200
    assert retry.json()["message"]["id"] == first["message"]["id"]
    assert retry.json()["conversation"]["conversationId"] == (
        first["conversation"]["conversationId"])
    assert Conversation.objects.count() == 1
    assert Message.objects.count() == 1


def test_a_conversation_start_reusing_a_client_id_with_other_text_is_a_conflict(browser):
    first = start_conversation(browser, "Hello", client_id="start-1")
    other = browser.post(f"{API}conversations/", {"body": "Something else",
                                                 "client_id": "start-1"}, format="json")

    assert_error(other, 409, "client_id_conflict", fields=["client_id"])
    assert Conversation.objects.count() == 1
    assert list(Message.objects.values_list("body", flat=True)) == ["Hello"]
    # A message in an existing conversation may not reuse it either.
    reused = send(browser, first["conversation"]["conversationId"], "Hello",
                  client_id="start-1")
    assert reused.status_code == 200  # the same text in the same conversation: a retry
    conversation_id = start_conversation(browser, "Second")["conversation"]["conversationId"]
    assert_error(send(browser, conversation_id, "Hello", client_id="start-1"), 409,
                 "client_id_conflict", fields=["client_id"])


def test_sending_the_same_client_id_twice_stores_one_message_with_one_server_id(
    browser, conversation_id
):
    first = send(browser, conversation_id, "Are you there?", client_id="m-1")
    second = send(browser, conversation_id, "Are you there?", client_id="m-1")

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["message"]["id"] == first.json()["message"]["id"]
    assert Message.objects.filter(client_id="m-1").count() == 1


def test_messages_list_in_server_id_order_with_an_after_cursor(browser, conversation_id):
    ids = [send(browser, conversation_id, f"m{i}").json()["message"]["id"] for i in range(3)]

    everything = browser.get(messages_url(conversation_id)).json()
    page = browser.get(messages_url(conversation_id), {"after": ids[0], "limit": 1}).json()

    assert [m["body"] for m in everything["results"]] == ["First", "m0", "m1", "m2"]
    assert everything["has_more"] is False
    assert [m["id"] for m in page["results"]] == [ids[1]]
    assert page["has_more"] is True


@pytest.mark.parametrize("query", [{"after": "x"}, {"after": -1}, {"limit": 0},
                                   {"limit": 201}], ids=["after-text", "after-negative",
                                                         "limit-zero", "limit-over-200"])
def test_messages_list_refuses_bad_cursors(browser, conversation_id, query):
    response = browser.get(messages_url(conversation_id), query)

    assert_error(response, 400, "invalid", fields=list(query))


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"client_id": "x"}, ["body"]),
        ({"body": ""}, ["body"]),
        ({"body": "   "}, ["body"]),
        ({"body": 12}, ["body"]),
        ({"body": None}, ["body"]),
        ({"body": "x" * 5001}, ["body"]),
        ({"body": "ok", "client_id": "x" * 65}, ["client_id"]),
        ({"body": "ok", "client_id": 5}, ["client_id"]),
    ],
    ids=["missing", "empty", "blank", "number", "null", "over-limit", "long-client-id",
         "numeric-client-id"],
)
def test_bad_messages_are_refused_and_nothing_is_stored(browser, conversation_id, data, fields):
    before = Message.objects.count()

    response = browser.post(messages_url(conversation_id), data, format="json")

    assert_error(response, 400, "invalid", fields=fields)
    assert Message.objects.count() == before


@override_settings(CHATWIDGET={"MAX_MESSAGE_LENGTH": 10})
def test_the_message_length_limit_comes_from_settings(browser, conversation_id):
    assert send(browser, conversation_id, "x" * 10).status_code == 201
    assert_error(send(browser, conversation_id, "x" * 11), 400, "invalid", fields=["body"])


def test_a_bad_first_message_creates_no_conversation(browser):
    response = browser.post(f"{API}conversations/", {"body": "x" * 5001}, format="json")

    assert_error(response, 400, "invalid", fields=["body"])
    assert not Conversation.objects.exists()


def test_malformed_json_is_a_400_in_the_error_shape(browser, conversation_id):
    response = browser.post(messages_url(conversation_id), "{not json",
                            content_type="application/json")

    assert_error(response, 400, "parse_error")


def test_unsupported_content_type_is_a_415_in_the_error_shape(browser, conversation_id):
    response = browser.post(messages_url(conversation_id), "body=hi",
                            content_type="application/x-www-form-urlencoded")

    assert_error(response, 415, "unsupported_media_type")


def test_wrong_method_is_a_405_in_the_error_shape(browser):
    assert_error(browser.delete(f"{API}conversations/"), 405, "method_not_allowed")


def test_describe_merges_custom_attributes(browser, conversation_id):
    url = f"{API}conversations/{conversation_id}/describe/"
    browser.post(url, {"custom_attributes": {"order": "A-1"}}, format="json")
    response = browser.post(url, {"custom_attributes": {"topic": "refund"}}, format="json")

    assert response.status_code == 200
    assert response.json()["conversation"]["customAttributes"] == {"order": "A-1",
                                                                  "topic": "refund"}


@pytest.mark.parametrize("value", [None, [], "x", {"a": [1]}, {"a": {"b": 1}}, {"bad key": 1}],
                         ids=["null", "list", "string", "list-value", "nested", "bad-key"])
def test_describe_refuses_attributes_that_are_not_flat(browser, conversation_id, value):
    response = browser.post(f"{API}conversations/{conversation_id}/describe/",
                            {"custom_attributes": value}, format="json")

    assert_error(response, 400, "invalid", fields=["custom_attributes"])
    assert Conversation.objects.get(pk=conversation_id).custom_attributes == {}


def test_unread_counts_agent_replies_until_read(browser, conversation_id, agent):
    conversation = Conversation.objects.get(pk=conversation_id)
    reply = chat.post_agent_message(agent, conversation, "We are on it")
    chat.post_agent_message(agent, conversation, "Anything else?")

    listed = browser.get(f"{API}conversations/").json()["results"][0]
    partly = browser.post(f"{API}conversations/{conversation_id}/read/",
                          {"last_read_id": reply.message.pk}, format="json")
    fully = browser.post(f"{API}conversations/{conversation_id}/read/", {}, format="json")

    assert listed["unread"] == 2
    assert listed["lastMessage"]["body"] == "Anything else?"
    assert partly.json()["unread"]["total"] == 1
    assert fully.json()["unread"] == {"total": 0, "conversations": {},
                                      "change": {"conversationId": conversation_id, "count": 0}}


def test_a_read_pointer_beyond_the_last_message_is_pinned_to_it(browser, conversation_id,
                                                                agent):
    browser.post(f"{API}conversations/{conversation_id}/read/", {"last_read_id": 10**12},
                 format="json")
    chat.post_agent_message(agent, Conversation.objects.get(pk=conversation_id), "Later reply")

    assert browser.get(f"{API}conversations/").json()["results"][0]["unread"] == 1


def test_read_refuses_a_negative_pointer(browser, conversation_id):
    response = browser.post(f"{API}conversations/{conversation_id}/read/",
                            {"last_read_id": -1}, format="json")

    assert_error(response, 400, "invalid", fields=["last_read_id"])


def test_an_unknown_conversation_is_a_404(browser):
    assert_error(browser.get(messages_url(999999)), 404, "not_found", fields=["conversation"])
