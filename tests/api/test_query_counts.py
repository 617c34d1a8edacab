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

from chatwidget import identity
from chatwidget.models import Contact

from .helpers import API, ping, start_conversation

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


@pytest.fixture
def returning_visitor(widget) -> APIClient:
    """A visitor with a conversation, who loads another page."""
    client = APIClient()
    ping(client)
    start_conversation(client, body="Where is my order?")
    ping(client)
    return client


def test_a_returning_visitors_ping_reads_five_times_and_writes_nothing(returning_visitor):
    sql = queries_of(returning_visitor, f"{API}ping/", {})

    # token+contact+widget; conversations with unread and newest ids; those newest
    # messages; their attachments; whether an agent is online.
    assert len(sql) == 5, "\n".join(sql)
    assert not [q for q in sql if q.upper().startswith(WRITES)]


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
