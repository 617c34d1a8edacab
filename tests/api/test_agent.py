"""The agent API: only agents, and everything the inbox needs."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from chatwidget import chat
from chatwidget.models import Contact, Conversation, Message

from .helpers import AGENT, API, PDF, assert_error, ids, listed, upload


@pytest.fixture
def make_conversation(widget):
    def make(body="Hello", *, name="", email="", status="open", assignee=None, contact=None):
        contact = contact or Contact.objects.create(widget=widget, name=name, email=email)
        conversation, _ = chat.start_conversation(contact)
        if body:
            chat.post_contact_message(contact, conversation.pk, body)
        if status != "open" or assignee is not None:
            chat.update_conversation(conversation, status=status, assignee=assignee)
        return conversation

    return make


@pytest.mark.parametrize("who", ["anonymous", "site_user", "staff_without_permission"])
def test_only_agents_may_use_the_agent_api(who, user, make_conversation):
    conversation = make_conversation()
    client = APIClient()
    if who == "site_user":
        client.force_login(user)
    elif who == "staff_without_permission":
        client.force_login(get_user_model().objects.create_user("staff", is_staff=True))
    expected = "not_authenticated" if who == "anonymous" else "permission_denied"

    for response in (
        client.get(f"{AGENT}conversations/"),
        client.get(f"{AGENT}conversations/{conversation.pk}/messages/"),
        client.post(f"{AGENT}conversations/{conversation.pk}/close/"),
        client.get(f"{AGENT}contacts/{conversation.contact_id}/"),
    ):
        assert_error(response, 403, expected)
    assert Conversation.objects.get(pk=conversation.pk).status == "open"


def test_a_widget_token_does_not_open_the_agent_api(visitor_client):
    visitor_client.post(f"{API}ping/", {}, format="json")

    assert visitor_client.get(f"{AGENT}conversations/").status_code == 403


def test_the_list_is_newest_first_with_contact_last_message_and_unread(
    agent_client, make_conversation
):
    older = make_conversation("Old question", name="Olga", email="olga@example.com")
    newer = make_conversation("New question")
    chat.post_contact_message(newer.contact, newer.pk, "Second")

    data = listed(agent_client)

    assert ids(data) == [newer.pk, older.pk]
    first, second = data["results"]
    assert first["lastMessage"]["body"] == "Second"
    assert first["unread"] == 2
    assert first["contactId"] == newer.contact_id and first["assigneeId"] is None
    assert second["contact"] == {"id": older.contact_id, "name": "Olga",
                                 "email": "olga@example.com", "identified": False,
                                 "externalId": None, "userId": None}
    assert data["next_cursor"] is None


def test_the_list_filters_by_status_assignee_contact_and_text(
    agent_client, agent, make_conversation
):
    other_agent = get_user_model().objects.create_user("agent2", is_staff=True)
    mine = make_conversation("Refund please", assignee=agent)
    theirs = make_conversation("Shipping?", assignee=other_agent)
    closed = make_conversation("Thanks, bye", status="closed", name="Zed")
    by_email = make_conversation("hi", email="vip@corp.example")

    assert ids(listed(agent_client, status="closed")) == [closed.pk]
    assert ids(listed(agent_client, status="open")) == [by_email.pk, theirs.pk, mine.pk]
    assert ids(listed(agent_client, assignee="me")) == [mine.pk]
    assert ids(listed(agent_client, assignee=str(other_agent.pk))) == [theirs.pk]
    assert ids(listed(agent_client, assignee="none")) == [by_email.pk, closed.pk]
    assert ids(listed(agent_client, contact=theirs.contact_id)) == [theirs.pk]
    assert ids(listed(agent_client, q="refund")) == [mine.pk]
    assert ids(listed(agent_client, q="zed")) == [closed.pk]
    assert ids(listed(agent_client, q="VIP@corp")) == [by_email.pk]


def test_the_list_pages_with_next_cursor(agent_client, make_conversation):
    made = [make_conversation(f"m{i}").pk for i in range(5)]

    first = listed(agent_client, limit=2)
    second = listed(agent_client, limit=2, cursor=first["next_cursor"])
    last = listed(agent_client, limit=2, cursor=second["next_cursor"])

    assert ids(first) + ids(second) + ids(last) == made[::-1]
    assert last["next_cursor"] is None


@pytest.mark.parametrize("query", [{"status": "pending"}, {"assignee": "someone"},
                                   {"contact": "x"}, {"limit": 500}])
def test_the_list_refuses_bad_filters(agent_client, query):
    response = agent_client.get(f"{AGENT}conversations/", query)

    assert_error(response, 400, "invalid", fields=list(query))


def test_conversation_detail_and_404(agent_client, make_conversation):
    conversation = make_conversation()

    detail = agent_client.get(f"{AGENT}conversations/{conversation.pk}/")

    assert detail.json()["conversationId"] == conversation.pk
    assert detail.json()["lastMessage"]["body"] == "Hello"
    assert_error(agent_client.get(f"{AGENT}conversations/999999/"), 404, "not_found",
                 fields=["conversation"])


def test_an_agent_replies_and_the_visitor_sees_the_reply(
    agent_client, make_conversation, make_browser
):
    conversation = make_conversation()
    url = f"{AGENT}conversations/{conversation.pk}/messages/"

    response = agent_client.post(url, {"body": "How can I help?", "client_id": "a-1"},
                                 format="json")
    repeat = agent_client.post(url, {"body": "How can I help?", "client_id": "a-1"},
                               format="json")

    assert response.status_code == 201
    message = response.json()["message"]
    assert message["sender"] == {"kind": "agent", "name": "Ada"}
    assert repeat.status_code == 200 and repeat.json()["message"]["id"] == message["id"]
    thread = agent_client.get(url).json()
    assert [m["body"] for m in thread["results"]] == ["Hello", "How can I help?"]
    assert chat.unread_for_contact(conversation.contact) == {conversation.pk: 1}


def test_an_agent_sends_files(agent_client, make_conversation):
    conversation = make_conversation()

    response = agent_client.post(
        f"{AGENT}conversations/{conversation.pk}/messages/",
        {"body": "Your invoice", "files": [upload("invoice.pdf", PDF, "application/pdf")]},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    [attachment] = response.json()["message"]["attachments"]
    assert attachment["content_type"] == "application/pdf"
    assert agent_client.get(attachment["url"]).status_code == 200


def test_an_agent_reply_is_validated_like_a_visitor_message(agent_client, make_conversation):
    conversation = make_conversation()

    response = agent_client.post(f"{AGENT}conversations/{conversation.pk}/messages/",
                                 {"body": ""}, format="json")

    assert_error(response, 400, "invalid", fields=["body"])
    assert Message.objects.filter(sender_kind="agent").count() == 0


def test_assign_to_an_agent_and_unassign(agent_client, agent, make_conversation):
    conversation = make_conversation()
    url = f"{AGENT}conversations/{conversation.pk}/assign/"

    assigned = agent_client.post(url, {"assignee_id": agent.pk}, format="json")
    unassigned = agent_client.post(url, {"assignee_id": None}, format="json")

    assert assigned.json()["conversation"]["assigneeId"] == agent.pk
    assert unassigned.json()["conversation"]["assigneeId"] is None


@pytest.mark.parametrize("assignee", ["user", "missing", "text", "absent"])
def test_assign_refuses_anyone_but_an_agent(agent_client, user, make_conversation, assignee):
    conversation = make_conversation()
    data = {"user": {"assignee_id": user.pk}, "missing": {"assignee_id": 999999},
            "text": {"assignee_id": "me"}, "absent": {}}[assignee]

    response = agent_client.post(f"{AGENT}conversations/{conversation.pk}/assign/", data,
                                 format="json")

    # No such agent is a 404 naming the field; a value of the wrong kind is a 400.
    status, kind = {"user": (404, "not_found"), "missing": (404, "not_found")}.get(
        assignee, (400, "invalid"))
    assert_error(response, status, kind, fields=["assignee_id"])
    assert Conversation.objects.get(pk=conversation.pk).assignee is None


def test_close_and_reopen(agent_client, make_conversation):
    conversation = make_conversation()

    closed = agent_client.post(f"{AGENT}conversations/{conversation.pk}/close/")
    reopened = agent_client.post(f"{AGENT}conversations/{conversation.pk}/reopen/")

    assert closed.json()["conversation"]["status"] == "closed"
    assert closed.json()["conversation"]["ended"] is True
    assert reopened.json()["conversation"]["status"] == "open"


def test_reading_clears_the_agents_unread_count(agent_client, make_conversation):
    conversation = make_conversation()

    response = agent_client.post(f"{AGENT}conversations/{conversation.pk}/read/", {},
                                 format="json")

    assert response.json() == {"unread": {"change": {"conversationId": conversation.pk,
                                                     "count": 0}}}
    assert listed(agent_client)["results"][0]["unread"] == 0


def test_contact_detail_shows_identity_attributes_and_conversations(
    agent_client, user, widget, make_conversation
):
    contact = Contact.objects.create(widget=widget, user=user, email="alice@example.com",
                                     attributes={"plan": "pro"})
    conversation = make_conversation(contact=contact)

    data = agent_client.get(f"{AGENT}contacts/{contact.pk}/").json()

    assert data["contact"]["userId"] == user.pk
    assert data["contact"]["attributes"] == {"plan": "pro"}
    assert data["contact"]["email"] == "alice@example.com"
    assert data["contact"]["externalId"] is None
    assert [c["conversationId"] for c in data["conversations"]] == [conversation.pk]
    assert_error(agent_client.get(f"{AGENT}contacts/999999/"), 404, "not_found")
