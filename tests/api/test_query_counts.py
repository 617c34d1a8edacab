"""What a page load costs the database (issue 11): the ping runs on every page view.

The counts are the behaviour: a new query on this path is paid on every page of every
site that shows the widget, so it must be a decision, not an accident.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from chatwidget import agents, identity
from chatwidget.models import Contact

from .helpers import API, ping, start_conversation, upload, user_hash

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def queries_of(client: APIClient, path: str, data: dict | None = None) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        if data is None:
            client.get(path)
        else:
            client.post(path, data, format="json")
    return [q["sql"] for q in captured.captured_queries
            if not q["sql"].upper().startswith(TRANSACTION_CONTROL)]


@pytest.fixture(autouse=True)
def presence_remembered(monkeypatch):
    """Whatever the machine's load, "agents online" stays remembered between two pings."""
    monkeypatch.setattr(agents, "SHOWN_ONLINE_SECONDS", 3600)


@pytest.fixture
def returning_visitor(widget) -> APIClient:
    """A visitor with a conversation, who loads another page."""
    client = APIClient()
    ping(client)
    start_conversation(client, body="Where is my order?")
    ping(client)
    return client


def tables(sql: list[str]) -> list[str]:
    """The chatwidget table each query reads (its own ``FROM``, not a subquery's), in order."""
    return [table for table in map(_main_table, sql) if table]


def _main_table(query: str) -> str | None:
    depth = 0
    for index, char in enumerate(query):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and query.startswith(" FROM ", index):
            return query[index + 6:].split()[0].strip('"`')
    return None


def test_a_returning_visitors_ping_reads_its_token_and_conversations_only(returning_visitor):
    sql = queries_of(returning_visitor, f"{API}ping/", {"app_id": "default"})

    # The token with its contact and widget; the conversations with unread counts and
    # newest ids; the newest message, which says whether it has attachments (it has none).
    # "Agents online" comes from memory.
    assert tables(sql) == ["chatwidget_widgettoken", "chatwidget_conversation",
                           "chatwidget_message"], "\n".join(sql)
    assert not [q for q in sql if q.upper().startswith(WRITES)]


def test_a_ping_reads_attachments_only_when_the_newest_message_has_some(returning_visitor):
    conversation_id = ping(returning_visitor)["conversations"][0]["conversationId"]
    response = returning_visitor.post(f"{API}conversations/{conversation_id}/messages/",
                                      {"body": "", "files": [upload()]}, format="multipart")
    assert response.status_code == 201, response.content

    sql = queries_of(returning_visitor, f"{API}ping/", {"app_id": "default"})

    assert tables(sql) == ["chatwidget_widgettoken", "chatwidget_conversation",
                           "chatwidget_message", "chatwidget_attachment"], "\n".join(sql)
    newest = ping(returning_visitor)["conversations"][0]["lastMessage"]
    assert [a["name"] for a in newest["attachments"]] == ["photo.png"]


def test_a_ping_without_conversations_costs_two_queries(widget):
    client = APIClient()
    ping(client)

    sql = queries_of(client, f"{API}ping/", {"app_id": "default"})

    assert tables(sql) == ["chatwidget_widgettoken", "chatwidget_conversation"], "\n".join(sql)


def test_a_ping_without_a_cookie_creates_one_contact_and_one_token(widget):
    ping(APIClient())  # another visitor: "agents online" is in memory now

    sql = queries_of(APIClient(), f"{API}ping/", {})

    inserts = [q for q in sql if q.upper().startswith("INSERT")]
    assert [tables([q.replace("INSERT INTO", " FROM ")])[0] for q in inserts] == [
        "chatwidget_contact", "chatwidget_widgettoken"], "\n".join(sql)
    # Besides: the widget (no token brings it) and the new contact's conversations.
    assert len(sql) == 4, "\n".join(sql)


def test_a_ping_records_a_new_page_at_once_and_the_same_page_once_a_minute(
        returning_visitor):
    contact = Contact.objects.get()

    sql = queries_of(returning_visitor, f"{API}ping/", {"page_url": "https://shop.example/cart"})
    assert [q for q in sql if q.upper().startswith("UPDATE")]
    assert Contact.objects.get().page_url == "https://shop.example/cart"

    Contact.objects.filter(pk=contact.pk).update(
        last_seen_at=contact.last_seen_at - identity.LAST_SEEN_RESOLUTION - timedelta(seconds=1))
    sql = queries_of(returning_visitor, f"{API}ping/", {"page_url": "https://shop.example/cart"})
    assert [q for q in sql if q.upper().startswith("UPDATE")]


def test_a_first_ping_creates_one_contact_and_one_token(widget):
    sql = queries_of(APIClient(), f"{API}ping/", {})

    inserts = [q for q in sql if q.upper().startswith("INSERT")]
    assert len(inserts) == 2, "\n".join(sql)  # the contact and its token
    assert len(sql) <= 7, "\n".join(sql)


def test_a_request_without_the_widget_cookie_costs_chatwidget_no_query(widget, db):
    sql = queries_of(APIClient(), "/admin/login/")

    assert not [q for q in sql if "chatwidget_" in q], "\n".join(sql)


def test_identifying_a_visitor_without_history_moves_nothing(widget):
    client = APIClient()
    csrf = ping(client)["csrf_token"]

    sql = queries_of_identify(client, csrf, widget)

    # The token; the external contact found or created (2); whether there is history to
    # move (1, none here); the merge mark; the old token revoked, the browser's other
    # tokens looked up; the new token.
    assert len(sql) == 8, "\n".join(sql)
    assert not [q for q in sql if q.startswith('UPDATE "chatwidget_message"')]


def queries_of_identify(client: APIClient, csrf: str, widget) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.post(f"{API}identify/",
                               {"external_id": "crm-42", "user_hash": user_hash(widget, "crm-42")},
                               format="json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200, response.content
    return [q["sql"] for q in captured.captured_queries
            if not q["sql"].upper().startswith(TRANSACTION_CONTROL)]
