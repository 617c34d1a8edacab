"""An empty entry in an origin list allows no origin, and a junk one hides none.

``os.environ.get("EMBED_ORIGINS", "").split(",")`` gives ``[""]`` when the variable is
unset, and an origin pasted into the admin with its surrounding blank stays in the list:
neither may turn into "any origin", which only ``"*"`` means.
"""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from .helpers import API, ping

EVIL = "https://evil.example"


@pytest.mark.parametrize("entries", [[""], [" "], ["", "https://shop.example"]])
def test_a_blank_allowed_origin_lets_no_other_site_read_the_api(db, entries):
    with override_settings(CHATWIDGET={"ALLOWED_ORIGINS": entries}):
        token = ping(APIClient(), transport="bearer")["token"]
        preflight = APIClient().options(f"{API}conversations/", HTTP_ORIGIN=EVIL,
                                        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
                                        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization")
        response = APIClient(HTTP_ORIGIN=EVIL, HTTP_AUTHORIZATION=f"Bearer {token}").get(
            f"{API}conversations/")

    assert "Access-Control-Allow-Origin" not in preflight
    assert response.status_code == 401
    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.parametrize("entries", [
    [" https://shop.example/ "],  # pasted with blanks around it
    [None, 42, "https://shop.example"],  # a JSON list edited by hand
])
def test_an_allowed_origin_among_blanks_or_junk_still_works(widget, entries):
    widget.allowed_origins = entries
    widget.save()
    token = ping(APIClient(), transport="bearer")["token"]

    response = APIClient(HTTP_ORIGIN="https://shop.example",
                         HTTP_AUTHORIZATION=f"Bearer {token}").get(f"{API}conversations/")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"
