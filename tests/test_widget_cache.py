"""The ping keeps its widget and config in memory; an edit must still show on the next page."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from chatwidget import widget_cache
from chatwidget.models import AgentPresence, Widget

from .api.helpers import API, assert_error, ping

pytestmark = pytest.mark.django_db


def widget_reads(client: APIClient, **data: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        ping(client, **data)
    return sum(1 for q in captured.captured_queries
               if q["sql"].startswith('SELECT') and ' FROM "chatwidget_widget" ' in q["sql"])


def test_a_widget_edited_in_the_admin_shows_on_the_next_ping(admin_client, widget):
    visitor = APIClient()
    assert ping(visitor)["widget"]["greeting"] == widget.greeting

    response = admin_client.post(reverse("admin:chatwidget_widget_change", args=[widget.pk]), {
        "name": "Help desk", "app_id": widget.app_id, "greeting": "Ahoy! Ask us anything.",
        "color": "#ff0000", "reply_time": "Within a day.", "allowed_origins": "[]",
    })
    assert response.status_code == 302, response.content

    config = ping(visitor)["widget"]
    assert (config["name"], config["greeting"], config["color"], config["ask_email"],
            config["replyTime"]) == ("Help desk", "Ahoy! Ask us anything.", "#ff0000", False,
                                     "Within a day.")


def test_a_saved_widget_shows_on_the_next_ping_of_a_page_that_names_it(widget):
    other = Widget.objects.create(app_id="shop", name="Shop", greeting="Hello shoppers")
    visitor = APIClient()
    assert ping(visitor, app_id="shop")["widget"]["greeting"] == "Hello shoppers"

    other.greeting = "Sale today"
    other.save()

    assert ping(visitor, app_id="shop")["widget"]["greeting"] == "Sale today"


def test_a_deleted_widget_is_unknown_to_the_next_ping(widget):
    Widget.objects.create(app_id="shop", name="Shop")
    ping(APIClient(), app_id="shop")

    Widget.objects.filter(app_id="shop").delete()

    response = APIClient().post(f"{API}ping/", {"app_id": "shop"}, format="json")
    assert_error(response, 404, "not_found", ["app_id"])


def test_pages_after_the_first_read_the_widget_from_memory(widget):
    Widget.objects.create(app_id="shop", name="Shop")
    assert widget_reads(APIClient(), app_id="shop") == 1

    assert widget_reads(APIClient(), app_id="shop") == 0


def test_an_agent_opening_the_inbox_shows_on_the_next_ping(widget, agent):
    visitor = APIClient()
    assert ping(visitor)["widget"]["agentsOnline"] is False

    AgentPresence.objects.create(user=agent, channel_name="tab-1")
    assert ping(visitor)["widget"]["agentsOnline"] is True

    AgentPresence.objects.filter(user=agent).delete()
    assert ping(visitor)["widget"]["agentsOnline"] is False


def test_an_edit_made_by_another_worker_shows_once_the_copy_expires(widget, monkeypatch):
    """Another process's save sends no signal here (an ``update()`` stands in for it)."""
    visitor = APIClient()
    ping(visitor)
    Widget.objects.filter(pk=widget.pk).update(greeting="Edited elsewhere")
    assert ping(visitor)["widget"]["greeting"] == widget.greeting

    later = time.monotonic() + widget_cache.WIDGET_TTL
    monkeypatch.setattr(widget_cache.time, "monotonic", lambda: later)

    assert ping(visitor)["widget"]["greeting"] == "Edited elsewhere"
