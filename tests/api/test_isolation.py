"""Two browsers never see each other's conversations, messages or attachments.

Another's conversation answers exactly like one that does not exist.
"""

from __future__ import annotations

import pytest

from chatwidget.models import Conversation, Message

from .helpers import API, PNG, assert_error, ping, start_conversation, upload


@pytest.fixture
def alice(make_browser):
    browser = make_browser()
    ping(browser)
    return browser


@pytest.fixture
def mallory(make_browser):
    browser = make_browser()
    ping(browser)
    return browser


@pytest.fixture
def alices_conversation(alice):
    conversation_id = start_conversation(alice, "My address is 1 Main St")["conversation"][
        "conversationId"]
    sent = alice.post(f"{API}conversations/{conversation_id}/messages/",
                      {"body": "see photo", "files": [upload()]}, format="multipart")
    assert sent.status_code == 201, sent.content
    return conversation_id, sent.json()["message"]["attachments"][0]["url"]


def test_a_browser_lists_only_its_own_conversations(alice, mallory, alices_conversation):
    start_conversation(mallory, "Mine")

    [only] = mallory.get(f"{API}conversations/").json()["results"]
    assert only["conversationId"] != alices_conversation[0]
    assert ping(mallory)["conversations"] == [only]


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "", None),
        ("get", "messages/", None),
        ("post", "messages/", {"body": "injected"}),
        ("post", "describe/", {"custom_attributes": {"a": 1}}),
        ("post", "read/", {}),
    ],
    ids=["detail", "read-messages", "post-message", "describe", "mark-read"],
)
def test_anothers_conversation_is_indistinguishable_from_a_missing_one(
    mallory, alices_conversation, method, path, data
):
    conversation_id, _ = alices_conversation
    missing = Conversation.objects.order_by("-id").first().pk + 1000

    theirs = getattr(mallory, method)(f"{API}conversations/{conversation_id}/{path}", data,
                                      format="json")
    nothing = getattr(mallory, method)(f"{API}conversations/{missing}/{path}", data,
                                       format="json")

    assert_error(theirs, 404, "not_found", fields=["conversation"])
    assert theirs.json() == nothing.json()
    assert not Message.objects.filter(body="injected").exists()
    assert Conversation.objects.get(pk=conversation_id).custom_attributes == {}


def test_anothers_attachment_is_a_404_like_a_missing_one(alice, mallory, alices_conversation):
    _, url = alices_conversation

    assert alice.get(url).status_code == 200
    assert_error(mallory.get(url), 404, "not_found")
    assert mallory.get(url).json() == mallory.get("/chatwidget/attachments/999999/").json()


def test_a_browser_with_no_token_cannot_download_an_attachment(make_browser,
                                                               alices_conversation):
    _, url = alices_conversation

    assert_error(make_browser().get(url), 404, "not_found")


def test_a_files_bytes_are_served_back_unchanged_to_their_owner(alice, alices_conversation):
    _, url = alices_conversation

    assert b"".join(alice.get(url).streaming_content) == PNG
