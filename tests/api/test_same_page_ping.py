"""A visitor reloading the page it is on costs the database no write: the contact's
page, title and browser are rewritten only when one of them changes (or once a minute,
for "last seen"), since the ping runs on every page view of the site."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from chatwidget.models import Contact

from .helpers import API, ping

WRITES = ("INSERT", "UPDATE", "DELETE")
PAGE = {"page_url": "https://shop.example/cart", "page_title": "Your cart"}


def test_reloading_the_same_page_within_a_minute_writes_nothing(widget):
    browser = APIClient(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0")
    ping(browser, **PAGE)

    with CaptureQueriesContext(connection) as captured:
        response = browser.post(f"{API}ping/", PAGE, format="json")

    assert response.status_code == 200
    assert [q["sql"] for q in captured.captured_queries
            if q["sql"].upper().startswith(WRITES)] == []
    assert Contact.objects.get().page_title == "Your cart"
