"""Data rights over HTTP: the agent export/erase endpoints, a site user's own export, and
an expired widget token refused, after which the widget is silently a new visitor."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient

from chatwidget import identity
from chatwidget.models import Contact, Message, WidgetToken

from .helpers import API, assert_error, ping, send, start_conversation, stored_files, upload

AGENT = f"{API}agent/"


def grant(user, *codenames: str) -> None:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


@pytest.fixture
def dpo(agent):
    """An agent who may also export and erase contacts."""
    grant(agent, "export_contact", "erase_contact")
    return agent


@pytest.fixture
def two_visitors(make_browser):
    """Two browsers, each with a conversation holding a text message and a file."""
    people = []
    for tag in ("alice", "bob"):
        browser = make_browser()
        contact_id = ping(browser)["contact"]["id"]
        conversation = start_conversation(browser, f"hello from {tag}")
        conversation_id = conversation["conversation"]["conversationId"]
        response = browser.post(
            f"{API}conversations/{conversation_id}/messages/",
            {"body": f"file from {tag}", "files": [upload(f"{tag}.png")]},
            format="multipart",
        )
        assert response.status_code == 201, response.content
        people.append({"browser": browser, "contact_id": contact_id,
                       "conversation_id": conversation_id})
    return people


def test_an_agent_with_the_permission_exports_one_contact_as_json(agent_client, dpo,
                                                                   two_visitors):
    alice, bob = two_visitors

    response = agent_client.get(f"{AGENT}contacts/{alice['contact_id']}/export/")

    assert response.status_code == 200, response.content
    document = response.json()
    assert document["contact"]["id"] == alice["contact_id"]
    assert [m["body"] for c in document["conversations"] for m in c["messages"]] == [
        "hello from alice", "file from alice"]
    assert "bob" not in json.dumps(document)
    assert LogEntry.objects.get().object_id == str(alice["contact_id"])


def test_files_1_exports_a_zip_with_the_contacts_files(agent_client, dpo, two_visitors):
    alice, _ = two_visitors

    response = agent_client.get(f"{AGENT}contacts/{alice['contact_id']}/export/",
                                {"files": "1"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    assert len(names) == 2 and names[1].endswith("-alice.png")
    assert archive.read(names[1]).startswith(b"\x89PNG")


def test_an_agent_without_the_permissions_gets_403_and_nothing_happens(agent_client,
                                                                       two_visitors):
    alice, _ = two_visitors
    url = f"{AGENT}contacts/{alice['contact_id']}/"

    assert_error(agent_client.get(url + "export/"), 403, "permission_denied")
    assert_error(agent_client.post(url + "erase/"), 403, "permission_denied")
    assert_error(agent_client.delete(url + "erase/"), 403, "permission_denied")
    assert Contact.objects.filter(pk=alice["contact_id"]).exists()
    assert not LogEntry.objects.exists()


def test_export_permission_does_not_allow_erasing(agent_client, agent, two_visitors):
    grant(agent, "export_contact")
    alice, _ = two_visitors

    response = agent_client.post(f"{AGENT}contacts/{alice['contact_id']}/erase/")

    assert_error(response, 403, "permission_denied")


def test_a_visitor_cannot_use_the_data_rights_endpoints(two_visitors):
    alice, bob = two_visitors
    response = alice["browser"].get(f"{AGENT}contacts/{alice['contact_id']}/export/")
    assert response.status_code == 403
    response = alice["browser"].post(f"{AGENT}contacts/{bob['contact_id']}/erase/")
    assert response.status_code == 403


def test_erase_removes_the_contact_and_its_files_and_a_second_erase_is_404(
        agent_client, dpo, two_visitors, media_root, django_capture_on_commit_callbacks):
    alice, bob = two_visitors
    assert len(stored_files(media_root)) == 2

    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.delete(f"{AGENT}contacts/{alice['contact_id']}/erase/")

    assert response.status_code == 200, response.content
    assert response.json()["erased"]["messages"] == 2
    assert len(stored_files(media_root)) == 1
    assert not Message.objects.filter(contact=alice["contact_id"]).exists()
    assert Message.objects.filter(contact=bob["contact_id"]).count() == 2
    again = agent_client.post(f"{AGENT}contacts/{alice['contact_id']}/erase/")
    assert_error(again, 404, "not_found")
    # The erased browser is a new visitor on its next load, with an empty history.
    data = ping(alice["browser"])
    assert data["contact"]["id"] != alice["contact_id"] and data["conversations"] == []


# ---------------------------------------------------------------- a site user's own export


def test_a_site_user_downloads_only_their_own_chat_data(user, other_user, make_browser):
    mine, theirs = APIClient(), APIClient()
    mine.force_login(user)
    theirs.force_login(other_user)
    for client, body in ((mine, "my question"), (theirs, "their question")):
        ping(client)
        start_conversation(client, body)

    response = mine.get("/chatwidget/export/")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="chat-data.json"'
    document = json.loads(response.content)
    [contact] = document["contacts"]
    assert contact["contact"]["identity"]["username"] == "alice"
    assert [m["body"] for c in contact["conversations"] for m in c["messages"]] == [
        "my question"]
    assert "their question" not in response.content.decode()


def test_the_own_export_sends_a_logged_out_visitor_to_the_login_page(browser):
    response = browser.get("/chatwidget/export/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_own_export_zip_holds_the_users_files(user):
    client = APIClient()
    client.force_login(user)
    ping(client)
    conversation_id = start_conversation(client)["conversation"]["conversationId"]
    client.post(f"{API}conversations/{conversation_id}/messages/",
                {"body": "", "files": [upload("scan.png")]}, format="multipart")

    response = client.get("/chatwidget/export/", {"files": "1"})

    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert any(name.endswith("-scan.png") for name in archive.namelist())


# ---------------------------------------------------------------- expired tokens


def expire(contact_id: int) -> None:
    WidgetToken.objects.filter(contact=contact_id).update(
        last_used_at=timezone.now() - timedelta(days=10_000))


def test_an_expired_cookie_is_refused_and_ping_makes_a_fresh_anonymous_visitor(
        browser, conversation_id):
    old = ping(browser)["contact"]["id"]
    expire(old)

    assert_error(send(browser, conversation_id), 401, "not_authenticated")
    data = ping(browser)

    assert data["contact"]["id"] != old
    assert data["conversations"] == []
    assert identity.resolve_token(browser.cookies["chatwidget"].value).contact_id == \
        data["contact"]["id"]


def test_an_expired_bearer_token_is_refused(widget):
    issued = identity.create_anonymous(widget)
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    assert client.get(f"{API}conversations/").status_code == 200

    expire(issued.token.contact_id)

    assert_error(client.get(f"{API}conversations/"), 401, "not_authenticated")


def test_the_widget_cookie_expires_with_the_tokens_absolute_maximum(visitor_client, settings):
    settings.CHATWIDGET = {"TOKEN_MAX_AGE_DAYS": 30, "COOKIE_AGE": 365 * 86400}

    ping(visitor_client)

    assert visitor_client.cookies["chatwidget"]["max-age"] == 30 * 86400
