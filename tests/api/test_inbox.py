"""The inbox's half of the agent API: root, token auth, list, notes, saved replies,
contact panel data and presence, as a bot or the inbox page would call them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from chatwidget import chat
from chatwidget.models import AgentPresence, Contact, Conversation, Note, SavedReply

from .helpers import AGENT, API, assert_error, ids, listed, ping, start_conversation, upload


@pytest.fixture
def make_conversation(widget):
    def make(body="Hello", *, name="", email="", external_id=None, status="open",
             assignee=None):
        contact = Contact.objects.create(widget=widget, name=name, email=email,
                                         external_id=external_id)
        conversation, _ = chat.start_conversation(contact)
        if body:
            chat.post_contact_message(contact, conversation.pk, body)
        if status != "open" or assignee is not None:
            chat.update_conversation(conversation, status=status, assignee=assignee)
        return Conversation.objects.get(pk=conversation.pk)

    return make


# ---------------------------------------------------------------- root and authentication


def test_the_root_lists_every_agent_endpoint(agent_client, agent):
    response = agent_client.get(AGENT)

    assert response.status_code == 200
    data = response.json()
    assert data["agent"] == {"id": agent.pk, "name": "Ada"}
    endpoints = data["endpoints"]
    assert endpoints["conversations"] == f"{AGENT}conversations/"
    assert endpoints["notes"] == f"{AGENT}conversations/{{id}}/notes/"
    assert endpoints["saved_replies"] == f"{AGENT}saved-replies/"
    assert endpoints["socket"] == "/ws/chatwidget/agent/"
    for name, path in endpoints.items():
        if name != "socket":
            assert agent_client.get(path.replace("{id}", "1")).status_code in (200, 404, 405)


def test_the_root_refuses_staff_without_the_permission(db):
    client = APIClient()
    client.force_login(get_user_model().objects.create_user("staff", is_staff=True))

    assert_error(client.get(AGENT), 403, "permission_denied")


def test_a_bot_with_a_token_reads_and_replies_without_a_session_or_csrf(
    agent, make_conversation
):
    conversation = make_conversation("Is anyone there?")
    bot = APIClient(enforce_csrf_checks=True)
    bot.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=agent).key}")

    assert ids(listed(bot)) == [conversation.pk]
    reply = bot.post(f"{AGENT}conversations/{conversation.pk}/messages/",
                     {"body": "Yes, a bot."}, format="json")

    assert reply.status_code == 201
    assert conversation.messages.last().body == "Yes, a bot."


def test_a_token_of_a_non_agent_or_a_wrong_token_is_refused(user, make_conversation):
    bot = APIClient()
    bot.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert_error(bot.get(f"{AGENT}conversations/"), 403, "permission_denied")

    bot.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert bot.get(f"{AGENT}conversations/").status_code in (401, 403)


def test_a_session_post_without_csrf_is_refused(agent, make_conversation):
    conversation = make_conversation()
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(agent)

    response = browser.post(f"{AGENT}conversations/{conversation.pk}/close/")

    assert response.status_code == 403
    assert Conversation.objects.get(pk=conversation.pk).status == "open"


def test_a_token_header_without_authtoken_installed_says_what_to_do(
    agent, settings, make_conversation
):
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS
                               if a != "rest_framework.authtoken"]
    bot = APIClient()
    bot.credentials(HTTP_AUTHORIZATION="Token 0123")

    error = assert_error(bot.get(f"{AGENT}conversations/"), 403, "permission_denied")
    assert "rest_framework.authtoken" in error["message"]


@pytest.mark.parametrize("header", ["Basic c3RhZ2luZzpzdGFnaW5n", "Vendor-Sso abc"])
def test_without_authtoken_a_basic_auth_header_is_not_blamed_on_the_missing_app(
    agent, settings, make_conversation, header
):
    """A staging site behind HTTP basic auth sends ``Authorization: Basic`` on every call:
    only a ``Token`` header may trigger the missing-app refusal; others are just not
    logged in, and the logged-in agent's session keeps working."""
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS
                               if a != "rest_framework.authtoken"]
    conversation = make_conversation("Is anyone there?")
    browser = APIClient()
    browser.credentials(HTTP_AUTHORIZATION=header)

    error = assert_error(browser.get(f"{AGENT}conversations/"), 403, "not_authenticated")
    assert "authtoken" not in error["message"]
    browser.force_login(agent)
    assert ids(listed(browser)) == [conversation.pk]


# ---------------------------------------------------------------- the list


def test_filters_open_mine_unassigned_closed_and_all(agent_client, agent, make_conversation):
    other = get_user_model().objects.create_user("agent2", is_staff=True)
    mine = make_conversation(assignee=agent)
    theirs = make_conversation(assignee=other)
    nobody = make_conversation()
    closed = make_conversation(status="closed")

    assert ids(listed(agent_client, filter="open")) == [nobody.pk, theirs.pk, mine.pk]
    assert ids(listed(agent_client, filter="mine")) == [mine.pk]
    assert ids(listed(agent_client, filter="unassigned")) == [nobody.pk]
    assert ids(listed(agent_client, filter="closed")) == [closed.pk]
    assert ids(listed(agent_client, filter="all")) == [closed.pk, nobody.pk, theirs.pk, mine.pk]
    assert_error(agent_client.get(f"{AGENT}conversations/", {"filter": "spam"}), 400,
                 "invalid", fields=["filter"])


def test_search_finds_name_email_external_id_and_message_text(agent_client, make_conversation):
    by_name = make_conversation("hi", name="Grace Hopper")
    by_email = make_conversation("hi", email="grace@navy.example")
    by_external = make_conversation("hi", external_id="crm-4711")
    by_text = make_conversation("My invoice INV-99 is wrong")
    make_conversation("unrelated")

    assert ids(listed(agent_client, q="hopper")) == [by_name.pk]
    assert ids(listed(agent_client, q="NAVY")) == [by_email.pk]
    assert ids(listed(agent_client, q="4711")) == [by_external.pk]
    assert ids(listed(agent_client, q="inv-99")) == [by_text.pk]
    assert set(ids(listed(agent_client, q="grace"))) == {by_name.pk, by_email.pk}


def test_rows_carry_display_name_preview_assignee_and_unread(
    agent_client, agent, make_conversation
):
    conversation = make_conversation("  Where\nis my   order? " + "x" * 300, assignee=agent)
    chat.post_contact_message(conversation.contact, conversation.pk, "Hello?")

    row = listed(agent_client)["results"][0]

    assert row["contact"]["name"] == f"Visitor #{conversation.contact_id}"
    assert row["preview"] == "Hello?"
    assert row["assignee"] == {"id": agent.pk, "name": "Ada"}
    assert row["unread"] == 2
    assert row["status"] == "open" and row["updatedAt"]


def test_an_attachment_only_message_previews_its_file_name(agent_client, make_conversation):
    conversation = make_conversation("")
    agent_client.post(f"{AGENT}conversations/{conversation.pk}/messages/",
                      {"files": [upload("invoice.pdf", b"%PDF-1.7\n", "application/pdf")]},
                      format="multipart")

    assert listed(agent_client)["results"][0]["preview"] == "\N{PAPERCLIP} invoice.pdf"


def test_a_long_preview_is_cut_to_one_short_line(agent_client, make_conversation):
    make_conversation("Where\nis   my order? " + "x" * 300)

    preview = listed(agent_client)["results"][0]["preview"]

    assert preview.startswith("Where is my order? x")
    assert len(preview) == 140 and "\n" not in preview


def test_the_cursor_neither_repeats_nor_skips_rows_when_a_message_arrives_meanwhile(
    agent_client, make_conversation
):
    made = [make_conversation(f"m{i}") for i in range(6)]
    first = listed(agent_client, limit=2)
    assert ids(first) == [made[5].pk, made[4].pk]

    # Activity on a row of a later page moves it to the top, above the cursor.
    chat.post_contact_message(made[1].contact, made[1].pk, "bump")
    second = listed(agent_client, limit=2, cursor=first["next_cursor"])
    last = listed(agent_client, limit=2, cursor=second["next_cursor"])

    assert ids(second) + ids(last) == [made[3].pk, made[2].pk, made[0].pk]
    assert last["next_cursor"] is None
    assert ids(listed(agent_client, limit=1)) == [made[1].pk]


@pytest.mark.parametrize("cursor", ["garbage", "bm90LWEtY3Vyc29y", "MjAyNnxhYmM"])
def test_a_malformed_cursor_is_a_400(agent_client, cursor):
    response = agent_client.get(f"{AGENT}conversations/", {"cursor": cursor})

    assert_error(response, 400, "invalid", fields=["cursor"])


def test_the_list_runs_the_same_number_of_queries_for_10_and_500_conversations(
    agent_client, agent, widget
):
    def fill(count):
        contacts = Contact.objects.bulk_create(
            [Contact(widget=widget, name=f"c{i}") for i in range(count)])
        for i, contact in enumerate(contacts):
            conversation, _ = chat.start_conversation(contact)
            chat.post_contact_message(contact, conversation.pk, f"hello {i}")
            if i % 2:
                chat.update_conversation(conversation, assignee=agent)

    def queries(**query):
        with CaptureQueriesContext(connection) as captured:
            data = listed(agent_client, limit=200, **query)
        return len(captured), len(data["results"])

    fill(10)
    small = queries(), queries(filter="mine"), queries(q="hello")
    fill(490)
    large = queries(), queries(filter="mine"), queries(q="hello")

    assert [n for n, _ in small] == [n for n, _ in large]
    assert [rows for _, rows in small] == [10, 5, 10]
    assert [rows for _, rows in large] == [200, 200, 200]


# ---------------------------------------------------------------- threads


def test_older_messages_load_with_before(agent_client, make_conversation):
    conversation = make_conversation("m0")
    for i in range(1, 5):
        chat.post_contact_message(conversation.contact, conversation.pk, f"m{i}")
    newest = conversation.messages.last().pk

    page = agent_client.get(f"{AGENT}conversations/{conversation.pk}/messages/",
                            {"before": newest, "limit": 2}).json()
    older = agent_client.get(f"{AGENT}conversations/{conversation.pk}/messages/",
                             {"before": page["results"][0]["id"], "limit": 2}).json()

    assert [m["body"] for m in page["results"]] == ["m2", "m3"] and page["has_more"]
    assert [m["body"] for m in older["results"]] == ["m0", "m1"] and not older["has_more"]


# ---------------------------------------------------------------- private notes


def test_an_agent_writes_a_note_and_agents_list_it(agent_client, agent, make_conversation):
    conversation = make_conversation()

    created = agent_client.post(f"{AGENT}conversations/{conversation.pk}/notes/",
                                {"body": "VIP customer", "client_id": "n1"}, format="json")
    again = agent_client.post(f"{AGENT}conversations/{conversation.pk}/notes/",
                              {"body": "VIP customer", "client_id": "n1"}, format="json")
    listed_notes = agent_client.get(f"{AGENT}conversations/{conversation.pk}/notes/").json()

    assert created.status_code == 201 and again.status_code == 200
    note = created.json()["note"]
    assert note["body"] == "VIP customer" and note["private"] is True
    assert note["author"] == {"id": agent.pk, "name": "Ada"}
    assert listed_notes == {"results": [note], "has_more": False}
    assert Note.objects.count() == 1


def test_a_note_is_validated_and_needs_a_conversation(agent_client, make_conversation):
    conversation = make_conversation()
    url = f"{AGENT}conversations/{conversation.pk}/notes/"

    assert_error(agent_client.post(url, {"body": "  "}, format="json"), 400, "invalid",
                 fields=["body"])
    assert_error(agent_client.post(url, {"body": 5}, format="json"), 400, "invalid",
                 fields=["body"])
    assert_error(agent_client.post(f"{AGENT}conversations/999999/notes/", {"body": "x"},
                                   format="json"), 404, "not_found", fields=["conversation"])
    assert not Note.objects.exists()


def test_a_note_never_reaches_the_visitor_over_rest(agent_client, visitor_client):
    ping(visitor_client)
    conversation_id = start_conversation(visitor_client, "Hi")["conversation"]["conversationId"]
    agent_client.post(f"{AGENT}conversations/{conversation_id}/notes/",
                      {"body": "SECRET-NOTE refund approved"}, format="json")

    responses = [
        visitor_client.post(f"{API}ping/", {}, format="json"),
        visitor_client.get(f"{API}conversations/"),
        visitor_client.get(f"{API}conversations/{conversation_id}/"),
        visitor_client.get(f"{API}conversations/{conversation_id}/messages/"),
    ]

    for response in responses:
        assert response.status_code == 200
        assert b"SECRET-NOTE" not in response.content
    data = responses[0].json()
    assert data["unread"]["total"] == 0
    assert data["conversations"][0]["lastMessage"]["body"] == "Hi"


def test_a_visitor_cannot_reach_the_notes_endpoint(visitor_client, make_conversation):
    conversation = make_conversation()
    ping(visitor_client)

    response = visitor_client.get(f"{AGENT}conversations/{conversation.pk}/notes/")

    assert response.status_code == 403


# ---------------------------------------------------------------- saved replies


def test_saved_replies_are_shared_or_the_agents_own_and_searchable(agent_client, agent):
    other = get_user_model().objects.create_user("agent2", is_staff=True)
    SavedReply.objects.create(shortcut="refund", text="I have issued a refund.")
    SavedReply.objects.create(shortcut="hello", text="Hi there!", owner=agent)
    SavedReply.objects.create(shortcut="secret", text="Other agent's", owner=other)

    everything = agent_client.get(f"{AGENT}saved-replies/").json()["results"]
    by_prefix = agent_client.get(f"{AGENT}saved-replies/", {"q": "ref"}).json()["results"]
    by_text = agent_client.get(f"{AGENT}saved-replies/", {"q": "there"}).json()["results"]

    assert [(r["shortcut"], r["shared"]) for r in everything] == [("hello", False),
                                                                   ("refund", True)]
    assert [r["text"] for r in by_prefix] == ["I have issued a refund."]
    assert [r["shortcut"] for r in by_text] == ["hello"]


# ---------------------------------------------------------------- contact panel


def test_ping_captures_the_page_and_browser_for_the_contact_panel(agent_client):
    browser = APIClient(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux) TestBrowser/1.0")
    contact_id = ping(browser, page_url="https://shop.example/pricing?x=1",
                      page_title="Pricing")["contact"]["id"]

    contact = agent_client.get(f"{AGENT}contacts/{contact_id}/").json()["contact"]

    assert contact["pageUrl"] == "https://shop.example/pricing?x=1"
    assert contact["pageTitle"] == "Pricing"
    assert contact["userAgent"] == "Mozilla/5.0 (X11; Linux) TestBrowser/1.0"
    assert contact["identity"]["kind"] == "anonymous"


def test_an_overlong_page_url_is_stored_cut_not_refused(visitor_client):
    data = ping(visitor_client, page_url="https://x.example/" + "a" * 5000)

    contact = Contact.objects.get(pk=data["contact"]["id"])
    assert len(contact.page_url) == 2000


def test_the_contact_panel_names_the_identity(agent_client, agent, user, widget):
    linked = Contact.objects.create(widget=widget, user=user)
    external = Contact.objects.create(widget=widget, external_id="crm-1")

    def identity(contact):
        return agent_client.get(f"{AGENT}contacts/{contact.pk}/").json()["contact"]["identity"]

    assert identity(linked) == {"kind": "user", "userId": user.pk, "username": "alice",
                                "adminUrl": None, "externalId": None}
    assert identity(external)["kind"] == "external"
    assert identity(external)["externalId"] == "crm-1"

    agent.user_permissions.add(Permission.objects.get(codename="view_user"))
    assert identity(linked)["adminUrl"] == f"/admin/auth/user/{user.pk}/change/"


def test_the_contact_panel_lists_other_conversations_with_custom_attributes(
    agent_client, widget
):
    contact = Contact.objects.create(widget=widget)
    first, _ = chat.start_conversation(contact, custom_attributes={"order": "A-1"})
    second, _ = chat.start_conversation(contact, custom_attributes={"order": "B-2"})

    rows = agent_client.get(f"{AGENT}contacts/{contact.pk}/").json()["conversations"]

    assert [(r["conversationId"], r["customAttributes"]) for r in rows] == [
        (second.pk, {"order": "B-2"}), (first.pk, {"order": "A-1"})]


# ---------------------------------------------------------------- presence


def test_agents_are_listed_with_who_is_online_and_the_widget_says_so(
    agent_client, agent, visitor_client, widget
):
    offline = get_user_model().objects.create_user("agent2", is_staff=True, first_name="Bo")
    offline.user_permissions.add(Permission.objects.get(codename="use_inbox"))
    get_user_model().objects.create_user("staff", is_staff=True)
    widget.reply_time = "Back tomorrow at 9."
    widget.save()

    before = ping(visitor_client)["widget"]
    AgentPresence.objects.create(user=agent, channel_name="tab-1")
    after = ping(visitor_client)["widget"]
    listing = agent_client.get(f"{AGENT}agents/").json()

    assert (before["agentsOnline"], before["replyTime"]) == (False, "Back tomorrow at 9.")
    assert after["agentsOnline"] is True
    assert listing == {"results": [{"id": agent.pk, "name": "Ada", "online": True},
                                   {"id": offline.pk, "name": "Bo", "online": False}],
                       "agentsOnline": True}


def test_a_stale_presence_row_does_not_count(visitor_client, agent):
    AgentPresence.objects.create(user=agent, channel_name="dead-worker",
                                 seen_at=timezone.now() - timedelta(seconds=61))

    assert ping(visitor_client)["widget"]["agentsOnline"] is False


def test_a_thread_opened_later_knows_where_the_visitors_read_receipt_stands(
    agent_client, agent, make_conversation
):
    conversation = make_conversation("Hi")
    reply = chat.post_agent_message(agent, conversation, "Hello!").message
    assert listed(agent_client)["results"][0]["contactLastReadId"] == 0

    chat.mark_read_by_contact(conversation.contact, conversation)

    row = agent_client.get(f"{AGENT}conversations/{conversation.pk}/").json()
    assert row["contactLastReadId"] == reply.pk


def test_assigning_answers_with_the_assignees_name(agent_client, agent, make_conversation):
    conversation = make_conversation()

    response = agent_client.post(f"{AGENT}conversations/{conversation.pk}/assign/",
                                 {"assignee_id": agent.pk}, format="json")

    assert response.json()["conversation"]["assignee"] == {"id": agent.pk, "name": "Ada"}
