"""setAttributes: flat scalars within the limits, or a 400 naming the field and no change."""

from __future__ import annotations

import pytest
from django.test import override_settings

from chatwidget.models import Contact

from .helpers import API, assert_error, ping


@pytest.fixture
def contact_id(visitor_client):
    return ping(visitor_client)["contact"]["id"]


def set_attributes(client, **data):
    return client.post(f"{API}attributes/", data, format="json")


def test_attributes_merge_into_the_contact(visitor_client, contact_id):
    set_attributes(visitor_client, attributes={"plan": "pro", "seats": 3})
    response = set_attributes(visitor_client, attributes={"trial": False, "score": 1.5,
                                                           "note": None},
                              email="me@example.com", name="Me")

    assert response.status_code == 200
    contact = response.json()["contact"]
    assert contact["attributes"] == {"plan": "pro", "seats": 3, "trial": False, "score": 1.5,
                                     "note": None}
    assert contact["email"] == "me@example.com"
    assert Contact.objects.get(pk=contact_id).name == "Me"


LIMITS = {"MAX_ATTRIBUTES": 3, "MAX_ATTRIBUTE_KEY_LENGTH": 8, "MAX_ATTRIBUTE_VALUE_LENGTH": 10}


@override_settings(CHATWIDGET=LIMITS)
@pytest.mark.parametrize(
    "attributes",
    [
        None,
        ["a"],
        "plan=pro",
        {"nested": {"a": 1}},
        {"list": [1, 2]},
        {"a": 1, "b": 2, "c": 3, "d": 4},
        {"x" * 9: 1},
        {"": 1},
        {"has space": 1},
        {"emoji\u2603": 1},
        {"long": "x" * 11},
    ],
    ids=["null", "list", "string", "nested-object", "list-value", "too-many", "key-too-long",
         "empty-key", "key-with-space", "non-ascii-key", "value-too-long"],
)
def test_attributes_outside_the_rules_are_refused_and_nothing_changes(
    visitor_client, contact_id, attributes
):
    response = set_attributes(visitor_client, attributes=attributes)

    assert_error(response, 400, "invalid", fields=["attributes"])
    assert Contact.objects.get(pk=contact_id).attributes == {}


@override_settings(CHATWIDGET=LIMITS)
def test_the_attribute_count_limit_holds_across_calls(visitor_client, contact_id):
    assert set_attributes(visitor_client, attributes={"a": 1, "b": 2}).status_code == 200
    assert set_attributes(visitor_client, attributes={"a": 5}).status_code == 200

    response = set_attributes(visitor_client, attributes={"c": 3, "d": 4})

    assert_error(response, 400, "invalid", fields=["attributes"])
    assert Contact.objects.get(pk=contact_id).attributes == {"a": 5, "b": 2}


def test_attributes_are_required_and_email_must_be_an_email(visitor_client, contact_id):
    assert_error(set_attributes(visitor_client), 400, "invalid", fields=["attributes"])
    assert_error(set_attributes(visitor_client, attributes={}, email="nope"), 400, "invalid",
                 fields=["email"])
    assert_error(set_attributes(visitor_client, attributes={}, name=["x"]), 400, "invalid",
                 fields=["name"])


def test_attributes_need_a_token(visitor_client):
    assert_error(set_attributes(visitor_client, attributes={"a": 1}), 401, "not_authenticated")
