"""Cross-origin embeds: allowed origins may call the API with a bearer token, never cookies."""

from __future__ import annotations

from django.test import override_settings
from rest_framework.test import APIClient

from chatwidget.models import Widget

from .helpers import API, ping

SHOP = "https://shop.example"


def test_a_preflight_from_an_allowed_origin_is_answered_without_authentication(widget):
    widget.allowed_origins = [SHOP]
    widget.save()

    response = APIClient().options(f"{API}conversations/", HTTP_ORIGIN=SHOP,
                                   HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                                   HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization")

    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert "Authorization" in response["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in response


@override_settings(CHATWIDGET={"ALLOWED_ORIGINS": [SHOP]})
def test_responses_to_an_allowed_origin_are_readable_but_never_with_credentials(db):
    browser = APIClient(HTTP_ORIGIN=SHOP)

    token = ping(browser, transport="bearer")["token"]
    response = APIClient(HTTP_ORIGIN=SHOP, HTTP_AUTHORIZATION=f"Bearer {token}").get(
        f"{API}conversations/")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert "Access-Control-Allow-Credentials" not in response
    assert "Origin" in response["Vary"]
    # The SDK on that page can read how long a 429 asks it to wait.
    assert response["Access-Control-Expose-Headers"] == "Retry-After"


def test_other_origins_get_no_cors_headers(widget):
    preflight = APIClient().options(f"{API}ping/", HTTP_ORIGIN="https://evil.example",
                                    HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    response = APIClient(HTTP_ORIGIN="https://evil.example").post(f"{API}ping/", {},
                                                                  format="json")

    assert "Access-Control-Allow-Origin" not in preflight
    assert "Access-Control-Allow-Origin" not in response


def test_a_bearer_token_is_refused_from_an_origin_its_widget_does_not_allow(widget):
    """Another widget may allow the origin; this token's widget does not."""
    Widget.objects.create(app_id="shop", name="Shop", allowed_origins=[SHOP])
    token = ping(APIClient(), transport="bearer")["token"]  # the default widget's visitor

    response = APIClient(HTTP_ORIGIN=SHOP, HTTP_AUTHORIZATION=f"Bearer {token}").get(
        f"{API}conversations/")

    assert response.status_code == 401
    assert "Access-Control-Allow-Origin" not in response


def test_a_response_is_shared_only_with_origins_of_the_token_widget(widget):
    Widget.objects.create(app_id="shop", name="Shop", allowed_origins=[SHOP])
    other = "https://blog.example"
    widget.allowed_origins = [other]
    widget.save()
    token = ping(APIClient(HTTP_ORIGIN=other), transport="bearer")["token"]

    allowed = APIClient(HTTP_ORIGIN=other, HTTP_AUTHORIZATION=f"Bearer {token}").get(
        f"{API}conversations/")
    shop_ping = APIClient(HTTP_ORIGIN=SHOP).post(f"{API}ping/", {"transport": "bearer"},
                                                format="json")

    assert allowed.status_code == 200 and allowed["Access-Control-Allow-Origin"] == other
    # The default widget's new visitor is not the shop's to read.
    assert "Access-Control-Allow-Origin" not in shop_ping


def test_a_bearer_token_without_an_origin_header_still_works(db):
    """Servers and bots send no Origin; they hold the token anyway."""
    token = ping(APIClient(), transport="bearer")["token"]

    response = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}").get(f"{API}conversations/")

    assert response.status_code == 200
