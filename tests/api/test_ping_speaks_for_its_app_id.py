"""A ping speaks for the widget its ``app_id`` names, with that widget's cookie, whatever
widget the page's other calls named last (the ``X-Chatwidget-App`` header): two widgets
on a page load in any order and each finds its own visitor."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from chatwidget.models import Widget

from .helpers import ping


@pytest.mark.parametrize("names", [("shop", "alpha"), ("alpha", "shop")])
def test_a_ping_uses_the_cookie_of_the_widget_it_names(widget, names):
    for app_id in names:
        Widget.objects.create(app_id=app_id, name=app_id.title())
    browser = APIClient()
    visitors = {app_id: ping(browser, app_id=app_id)["contact"]["id"] for app_id in names}

    first, second = names
    browser.credentials(HTTP_X_CHATWIDGET_APP=first)  # the first widget's SDK spoke last

    assert ping(browser, app_id=second)["contact"]["id"] == visitors[second]
    assert ping(browser, app_id=first)["contact"]["id"] == visitors[first]


def test_a_ping_that_names_no_widget_speaks_for_the_one_its_header_names(widget):
    Widget.objects.create(app_id="shop", name="Shop")
    browser = APIClient()
    ping(browser)
    shop_visitor = ping(browser, app_id="shop")["contact"]["id"]

    browser.credentials(HTTP_X_CHATWIDGET_APP="shop")

    assert ping(browser)["contact"]["id"] == shop_visitor
