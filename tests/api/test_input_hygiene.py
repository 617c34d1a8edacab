"""Malformed and hostile input gets the API's JSON error, never a 500 or an HTML page."""

from __future__ import annotations

import json

import pytest

from .helpers import API, assert_error, send

pytestmark = pytest.mark.usefixtures("no_error_logs")


def post_raw(client, url: str, raw: str | bytes, content_type: str = "application/json"):
    return client.generic("POST", url, raw, content_type=content_type)


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\u0000"])
def test_message_body_with_lone_surrogate_or_nul_is_refused_naming_body(
    browser, conversation_id, escape
):
    raw = '{"body": "hi ' + escape + ' there"}'
    response = post_raw(browser, f"{API}conversations/{conversation_id}/messages/", raw)
    assert_error(response, 400, "invalid", fields=["body"])
    listing = browser.get(f"{API}conversations/{conversation_id}/messages/")
    assert [m["body"] for m in listing.json()["results"]] == ["First"]


@pytest.mark.parametrize("raw", [
    '{"attributes": {"plan": "\\ud83d"}}',
    '{"attributes": {"pl\\u0000an": "x"}}',
    '{"attributes": {"\\udc00": "x"}}',
])
def test_attribute_keys_and_values_with_broken_unicode_are_refused(browser, raw):
    response = post_raw(browser, f"{API}attributes/", raw)
    assert_error(response, 400, "invalid", fields=["attributes"])
    # The contact's representation still serialises: nothing broken was stored.
    assert browser.post(f"{API}ping/", {}, format="json").status_code == 200


def test_deeply_nested_json_is_a_400_not_a_recursion_error(browser):
    response = post_raw(browser, f"{API}ping/", "[" * 100_000 + "]" * 100_000)
    assert_error(response, 400, "parse_error")
    nested = '{"app_id": ' + "[" * 40 + "]" * 40 + "}"
    assert_error(post_raw(browser, f"{API}ping/", nested), 400, "invalid", fields=["app_id"])


def test_malformed_json_is_a_json_400(browser):
    assert_error(post_raw(browser, f"{API}ping/", "{not json"), 400, "parse_error")
    assert_error(post_raw(browser, f"{API}ping/", '{"app_id": NaN}'), 400, "parse_error")
    assert_error(post_raw(browser, f"{API}ping/", b"\xff\xfe"), 400, "parse_error")


@pytest.mark.parametrize("value", ["١٢", "²", "99999999999999999999", "1e3", "-1", " 1"])
def test_integers_are_ascii_digits_within_the_database_range(browser, conversation_id, value):
    response = browser.get(f"{API}conversations/{conversation_id}/messages/",
                           {"after": value})
    assert_error(response, 400, "invalid", fields=["after"])


def test_json_integers_beyond_the_database_range_are_refused(browser, conversation_id):
    response = post_raw(browser, f"{API}conversations/{conversation_id}/read/",
                        json.dumps({"last_read_id": 2**63}))
    assert_error(response, 400, "invalid", fields=["last_read_id"])


@pytest.mark.parametrize("assignee", ["١٢", "²", "99999999999999999999", "me2"])
def test_agent_assignee_filter_refuses_unicode_digits_and_overflow(agent_client, assignee):
    response = agent_client.get(f"{API}agent/conversations/", {"assignee": assignee})
    assert_error(response, 400, "invalid", fields=["assignee"])


def test_agent_assignee_filter_still_takes_an_ascii_user_id(agent_client, agent):
    response = agent_client.get(f"{API}agent/conversations/", {"assignee": str(agent.pk)})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("user_hash", ["é" * 64, "\u0663" * 64, "zz"])
def test_non_hex_user_hash_is_a_400_naming_the_field(browser, user_hash):
    response = browser.post(f"{API}identify/", {"external_id": "u-1", "user_hash": user_hash},
                            format="json")
    assert_error(response, 400, "invalid", fields=["user_hash"])


def test_body_over_the_upload_limit_is_a_json_413(browser, settings, conversation_id):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    raw = json.dumps({"body": "x" * 2000})
    response = post_raw(browser, f"{API}conversations/{conversation_id}/messages/", raw)
    assert_error(response, 413, "too_large")
    form = "body=" + "x" * 2000
    response = post_raw(browser, f"{API}conversations/{conversation_id}/messages/", form,
                        content_type="application/x-www-form-urlencoded")
    assert response.status_code in (413, 415), response.content
    assert "error" in response.json()


@pytest.mark.parametrize("path", [
    "conversations/abc/",
    "conversations/99999999999999999999/messages/",
    "conversations/%D9%A1%D9%A2/",
    "agent/conversations/1.5/",
    "no-such-endpoint/",
    "conversations/1/nope/",
])
def test_unknown_api_urls_and_bad_path_ids_are_json_404s(browser, path):
    response = browser.get(f"{API}{path}")
    assert response["Content-Type"] == "application/json"
    assert_error(response, 404, "not_found")


def test_huge_path_id_on_a_real_endpoint_is_a_json_404_for_agents(agent_client):
    response = agent_client.post(f"{API}agent/conversations/{2**63}/close/")
    assert_error(response, 404, "not_found")


def test_multipart_text_fields_with_nul_are_refused(browser, conversation_id):
    response = browser.post(f"{API}conversations/{conversation_id}/messages/",
                            {"body": "a\x00b"}, format="multipart")
    assert_error(response, 400, "invalid", fields=["body"])


def test_oversized_message_still_refused_with_body_named(browser, conversation_id):
    assert_error(send(browser, conversation_id, "x" * 6000), 400, "invalid", fields=["body"])


def test_unknown_body_fields_are_refused_by_name(browser, conversation_id):
    response = send(browser, conversation_id, "hi", clientId="camelCase-by-mistake")
    assert_error(response, 400, "invalid", fields=["clientId"])


def test_unknown_and_empty_query_parameters_are_refused(browser, conversation_id, agent_client):
    url = f"{API}conversations/{conversation_id}/messages/"
    assert_error(browser.get(url, {"afer": "3"}), 400, "invalid", fields=["afer"])
    assert_error(agent_client.get(f"{API}agent/conversations/", {"status": ""}), 400,
                 "invalid", fields=["status"])


def test_multipart_without_files_is_refused(browser, conversation_id):
    response = browser.post(f"{API}conversations/{conversation_id}/messages/",
                            {"body": "text only"}, format="multipart")
    assert_error(response, 400, "invalid", fields=["files"])


def test_json_ids_are_numbers_not_strings(browser, conversation_id):
    url = f"{API}conversations/{conversation_id}/read/"
    assert_error(post_raw(browser, url, '{"last_read_id": "12"}'), 400, "invalid",
                 fields=["last_read_id"])
    # An integral JSON number is an integer, as JSON Schema counts it.
    assert post_raw(browser, url, '{"last_read_id": 12.0}').status_code == 200


def test_numbers_beyond_the_integer_range_are_refused_even_as_floats(browser):
    response = post_raw(browser, f"{API}attributes/", '{"attributes": {"big": 1e19}}')
    assert_error(response, 400, "invalid", fields=["attributes"])


def test_multipart_text_over_the_upload_limit_is_a_json_413(browser, settings,
                                                              conversation_id):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = browser.post(f"{API}conversations/{conversation_id}/messages/",
                            {"body": "x" * 2000}, format="multipart")
    assert_error(response, 413, "too_large")
