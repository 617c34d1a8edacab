"""Two widgets on one site keep their own visitor: a cookie per widget (issue 12)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from chatwidget.models import Contact, Widget, WidgetToken
from chatwidget.session import cookie_name

from .helpers import API, ping, start_conversation

SHOP_COOKIE = "chatwidget_shop"


@pytest.fixture
def shop(db):
    return Widget.objects.create(app_id="shop", name="Shop")


def as_shop(client: APIClient) -> APIClient:
    """What the SDK of the shop widget sends on each call besides the ping's app_id."""
    client.credentials(HTTP_X_CHATWIDGET_APP="shop")
    return client


def test_visiting_a_second_widget_keeps_the_first_widgets_visitor(widget, shop):
    browser = APIClient()
    first = ping(browser)["contact"]["id"]
    start_conversation(browser, "to support")

    on_shop = ping(browser, app_id="shop")["contact"]["id"]
    back = ping(browser)

    assert on_shop != first
    assert back["contact"]["id"] == first
    assert len(back["conversations"]) == 1
    assert browser.cookies["chatwidget"].value and browser.cookies[SHOP_COOKIE].value
    assert Contact.objects.get(pk=on_shop).widget == shop


def test_each_widgets_calls_act_as_that_widgets_visitor(widget, shop):
    browser = APIClient()
    ping(browser)
    start_conversation(browser, "to support")
    ping(browser, app_id="shop")

    shop_list = as_shop(browser).get(f"{API}conversations/").json()["results"]
    start_conversation(browser, "to the shop")
    browser.credentials()
    default_list = browser.get(f"{API}conversations/").json()["results"]

    assert shop_list == []
    assert len(default_list) == 1
    assert Contact.objects.get(conversations__messages__body="to the shop").widget == shop


def test_a_site_login_moves_each_widgets_history_into_the_users_contact_there(
    widget, shop, user
):
    browser = APIClient()
    ping(browser)
    start_conversation(browser, "to support")
    ping(browser, app_id="shop")
    as_shop(browser)
    start_conversation(browser, "to the shop")
    browser.credentials()

    response = browser.post("/accounts/login/", {"username": "alice",
                                                 "password": "pw-alice-123"})

    assert response.status_code == 302
    assert Contact.objects.get(widget=widget, user=user).messages.filter(
        body="to support").exists()
    assert Contact.objects.get(widget=shop, user=user).messages.filter(
        body="to the shop").exists()
    assert ping(as_shop(browser), app_id="shop")["contact"]["identified"] is True


def test_a_site_logout_ends_every_widgets_identity(widget, shop, user):
    browser = APIClient()
    browser.force_login(user)
    ping(browser)
    ping(browser, app_id="shop")

    browser.post("/accounts/logout/")

    assert browser.cookies["chatwidget"].value == ""
    assert browser.cookies[SHOP_COOKIE].value == ""
    assert not WidgetToken.objects.filter(contact__user=user, revoked_at__isnull=True).exists()


def test_a_users_cookie_of_another_widget_is_revoked_when_the_session_ends(
    widget, shop, user
):
    browser = APIClient()
    browser.force_login(user)
    ping(browser, app_id="shop")
    browser.cookies.pop("sessionid")  # the site session expired

    browser.get("/admin/login/")

    assert browser.cookies[SHOP_COOKIE].value == ""
    assert not WidgetToken.objects.filter(contact__user=user, revoked_at__isnull=True).exists()


@pytest.mark.parametrize(("app_id", "name"), [
    (None, "chatwidget"), ("default", "chatwidget"), ("blog", "chatwidget_blog"),
    ("shop", "chatwidget_shop"), ("zz-top", "chatwidget_zz-top"),
])
def test_each_widget_has_its_own_cookie_name(db, app_id, name):
    assert cookie_name(app_id) == name


def test_a_malformed_widget_header_falls_back_to_the_default_widgets_cookie(widget, shop):
    browser = APIClient()
    first = ping(browser)["contact"]["id"]
    browser.credentials(HTTP_X_CHATWIDGET_APP="shop; Path=/")

    assert browser.get(f"{API}conversations/").status_code == 200
    assert ping(browser)["contact"]["id"] == first


def test_another_widgets_api_call_also_ends_the_users_default_widget_cookie(
    widget, shop, user
):
    """Every widget cookie is held to the site login, whichever widget's call carries it."""
    browser = APIClient()
    browser.force_login(user)
    ping(browser)
    ping(browser, app_id="shop")
    browser.cookies.pop("sessionid")  # the site session expired

    as_shop(browser).get(f"{API}conversations/")

    assert browser.cookies["chatwidget"].value == ""
    assert browser.cookies[SHOP_COOKIE].value == ""


def test_a_cross_origin_embed_of_another_widget_keeps_its_bearer_visitor(widget, shop):
    """A bearer client naming its widget only in the ping body: the token, not a cookie."""
    token = ping(APIClient(), app_id="shop", transport="bearer")
    embed = APIClient(HTTP_AUTHORIZATION=f"Bearer {token['token']}")

    again = ping(embed, app_id="shop")

    assert again["contact"]["id"] == token["contact"]["id"]
    assert again["token"] == token["token"]


def test_the_sites_own_cookies_are_never_touched(widget, shop, user):
    """Only ``chatwidget`` and ``chatwidget_<app_id>`` are the chat's: a logout that ends
    every widget cookie leaves the site's other cookies alone, whatever their names."""
    browser = APIClient()
    browser.force_login(user)
    ping(browser)
    for name in ("_ga", "analytics", "basket", "chatwidge", "chatwidgetx"):
        browser.cookies[name] = "the site's"

    response = browser.post("/accounts/logout/")

    assert browser.cookies["chatwidget"].value == ""
    assert not {"_ga", "analytics", "basket", "chatwidge", "chatwidgetx"} & set(response.cookies)


def test_naming_the_default_widget_by_its_app_id_is_the_same_visitor(widget):
    """``app_id: "default"`` (as a page may send it) is the default widget and its cookie."""
    browser = APIClient()
    first = ping(browser)["contact"]["id"]

    assert ping(browser, app_id="default")["contact"]["id"] == first
    assert "chatwidget_default" not in browser.cookies
