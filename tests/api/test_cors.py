"""Cross-origin embeds: allowed origins may call the API with a bearer token, never cookies."""

from __future__ import annotations

from django.test import override_settings
from rest_framework.test import APIClient

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


def test_other_origins_get_no_cors_headers(widget):
    preflight = APIClient().options(f"{API}ping/", HTTP_ORIGIN="https://evil.example",
                                    HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    response = APIClient(HTTP_ORIGIN="https://evil.example").post(f"{API}ping/", {},
                                                                  format="json")

    assert "Access-Control-Allow-Origin" not in preflight
    assert "Access-Control-Allow-Origin" not in response
