"""Throttles: 429 with the JSON error and Retry-After; one message budget for REST and socket."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from chatwidget import ratelimit
from chatwidget.models import Contact, Conversation, Message

from ..channels import sockets
from ..channels.conftest import new_browser
from .helpers import API, PNG, assert_error, ping, start_conversation, upload


def rates(settings, **changes) -> None:
    settings.CHATWIDGET = {**settings.CHATWIDGET, "THROTTLE_RATES": changes}


def assert_throttled(response) -> None:
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1


@pytest.mark.django_db
def test_pings_from_one_address_are_throttled_before_minting_contacts(settings):
    rates(settings, ping_ip="3/min")
    for _ in range(3):
        ping(APIClient())
    contacts = Contact.objects.count()

    response = APIClient().post(f"{API}ping/", {}, format="json")

    assert_throttled(response)
    assert Contact.objects.count() == contacts
    # Another address has its own budget.
    assert APIClient(REMOTE_ADDR="10.0.0.9").post(f"{API}ping/", {}, format="json") \
        .status_code == 200


@pytest.mark.django_db
def test_identify_is_throttled_per_contact_across_addresses(settings, browser):
    rates(settings, identify_contact="2/min")
    for address in ("10.0.0.1", "10.0.0.2"):
        response = browser.post(f"{API}identify/", {"external_id": "x", "user_hash": "00"},
                                format="json", REMOTE_ADDR=address)
        assert response.status_code == 403, response.content
    response = browser.post(f"{API}identify/", {"external_id": "x", "user_hash": "00"},
                            format="json", REMOTE_ADDR="10.0.0.3")
    assert_throttled(response)


@pytest.mark.django_db
def test_conversation_creation_is_throttled_per_contact(settings, browser):
    rates(settings, conversation_contact="2/min")
    start_conversation(browser, "one")
    start_conversation(browser, "two")
    assert_throttled(browser.post(f"{API}conversations/", {"body": "three"}, format="json"))
    assert Conversation.objects.count() == 2
    # Reading is not throttled.
    assert browser.get(f"{API}conversations/").status_code == 200


@pytest.mark.django_db
def test_messages_over_rest_are_throttled_per_contact(settings, browser, conversation_id):
    settings.CHATWIDGET = {"RATE_LIMIT_MESSAGES": 2, "RATE_LIMIT_WINDOW": 60}
    url = f"{API}conversations/{conversation_id}/messages/"
    for body in ("a", "b"):
        assert browser.post(url, {"body": body}, format="json").status_code == 201
    response = browser.post(url, {"body": "c"}, format="json")
    assert_throttled(response)
    assert 1 <= int(response["Retry-After"]) <= 60
    assert Message.objects.filter(body="c").count() == 0


@pytest.mark.django_db
def test_upload_bytes_are_a_quota_per_contact(settings, browser, conversation_id):
    settings.CHATWIDGET = {"UPLOAD_QUOTA": 8000, "UPLOAD_QUOTA_WINDOW": 600}
    url = f"{API}conversations/{conversation_id}/messages/"
    photo = PNG + bytes(5000)
    first = browser.post(url, {"body": "pic", "files": [upload(content=photo)]},
                         format="multipart")
    assert first.status_code == 201, first.content
    second = browser.post(url, {"body": "pic", "files": [upload(content=photo)]},
                          format="multipart")
    assert_throttled(second)
    assert 1 <= int(second["Retry-After"]) <= 600
    # Plain text messages do not spend the byte quota.
    assert browser.post(url, {"body": "words"}, format="json").status_code == 201


@pytest.mark.django_db
def test_throttles_count_in_the_configured_cache_alias(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                    "LOCATION": "default"},
        "throttles": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                      "LOCATION": "throttles"},
    }
    settings.CHATWIDGET = {"CACHE": "throttles", "THROTTLE_RATES": {"ping_ip": "1/min"}}
    ping(APIClient())
    assert_throttled(APIClient().post(f"{API}ping/", {}, format="json"))
    ratelimit.cache().clear()  # the counters were there, and only there
    ping(APIClient())


@pytest.mark.django_db
def test_throttles_on_redis_are_shared_by_separate_cache_clients(settings):
    """Two workers are two cache clients on one Redis: the second sees the first's count."""
    from django.core.cache import caches

    from ..servers import start_redis

    redis = start_redis()
    try:
        location = f"redis://127.0.0.1:{redis.port}/0"
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "worker1": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                        "LOCATION": location},
            "worker2": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                        "LOCATION": location},
        }
        settings.CHATWIDGET = {"CACHE": "worker1", "THROTTLE_RATES": {"ping_ip": "2/min"}}
        ping(APIClient())
        settings.CHATWIDGET = {"CACHE": "worker2", "THROTTLE_RATES": {"ping_ip": "2/min"}}
        ping(APIClient())
        assert_throttled(APIClient().post(f"{API}ping/", {}, format="json"))
        caches["worker2"].clear()
    finally:
        redis.stop()


# ---------------------------------------------------------------- one message budget


async def socket_send(tab, conversation_id: int, body: str) -> dict:
    await sockets.send(tab, type="message.send", conversationId=conversation_id, body=body)
    while True:
        frame = await sockets.receive(tab)
        if frame["type"] in ("message.ack", "error"):
            return frame


@pytest.mark.django_db(transaction=True)
async def test_messages_sent_over_rest_spend_the_sockets_budget(settings, widget):
    settings.CHATWIDGET = {"RATE_LIMIT_MESSAGES": 3, "RATE_LIMIT_WINDOW": 60}
    browser = await sync_to_async(new_browser)(widget)
    client = APIClient()
    client.cookies["chatwidget"] = browser.raw
    url = f"{API}conversations/{browser.conversation.pk}/messages/"
    for body in ("1", "2", "3"):
        response = await sync_to_async(client.post)(url, {"body": body}, format="json")
        assert response.status_code == 201
    tab = await sockets.visitor(browser.raw)

    refused = await socket_send(tab, browser.conversation.pk, "over the socket")

    assert refused["code"] == "rate_limited"
    await tab.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_messages_sent_over_the_socket_spend_the_rest_budget(settings, widget):
    settings.CHATWIDGET = {"RATE_LIMIT_MESSAGES": 3, "RATE_LIMIT_WINDOW": 60}
    browser = await sync_to_async(new_browser)(widget)
    tab = await sockets.visitor(browser.raw)
    for body in ("1", "2", "3"):
        assert (await socket_send(tab, browser.conversation.pk, body))["type"] == "message.ack"
    client = APIClient()
    client.cookies["chatwidget"] = browser.raw

    response = await sync_to_async(client.post)(
        f"{API}conversations/{browser.conversation.pk}/messages/", {"body": "over REST"},
        format="json")

    assert_throttled(response)
    await tab.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_an_unreachable_throttle_cache_lets_requests_and_messages_through(settings,
                                                                             widget):
    """Throttles guard the server; a Redis outage must not turn them into lost sends."""
    from ..servers import free_port

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "down": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                 "LOCATION": f"redis://127.0.0.1:{free_port()}/0"},
    }
    settings.CHATWIDGET = {"CACHE": "down"}
    browser = await sync_to_async(new_browser)(widget)
    client = APIClient()
    client.cookies["chatwidget"] = browser.raw
    assert (await sync_to_async(client.post)(f"{API}ping/", {}, format="json")).status_code \
        == 200
    response = await sync_to_async(client.post)(
        f"{API}conversations/{browser.conversation.pk}/messages/", {"body": "rest"},
        format="json")
    assert response.status_code == 201
    tab = await sockets.visitor(browser.raw)
    assert (await socket_send(tab, browser.conversation.pk, "socket"))["type"] == "message.ack"
    await tab.disconnect()
