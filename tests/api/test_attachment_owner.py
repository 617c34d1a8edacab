"""An attachment link opens for the visitor whose conversation holds it, compared by the
contact's identity: whichever of two visitors came first, and however many contacts the
site already has."""

from __future__ import annotations

from chatwidget.models import Contact

from .helpers import API, assert_error, ping, start_conversation, upload


def attachment_url(browser) -> str:
    conversation_id = start_conversation(browser)["conversation"]["conversationId"]
    sent = browser.post(f"{API}conversations/{conversation_id}/messages/",
                        {"body": "see photo", "files": [upload()]}, format="multipart")
    assert sent.status_code == 201, sent.content
    return sent.json()["message"]["attachments"][0]["url"]


def contact_id(browser) -> int:
    return ping(browser)["contact"]["id"]


def test_a_visitor_who_came_first_cannot_open_a_later_visitors_attachment(make_browser):
    earlier, later = make_browser(), make_browser()
    ping(earlier)
    ping(later)
    assert contact_id(earlier) < contact_id(later)
    url = attachment_url(later)

    assert later.get(url).status_code == 200
    assert_error(earlier.get(url), 404, "not_found")


def test_a_visitor_opens_its_own_attachment_on_a_site_with_many_contacts(make_browser,
                                                                          widget):
    # Real sites count contacts in the thousands; ids are compared by value.
    Contact.objects.create(widget=widget, pk=100_000)
    browser = make_browser()
    ping(browser)
    assert contact_id(browser) > 100_000
    url = attachment_url(browser)

    response = browser.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_the_schema_promises_only_the_answers_a_download_gives(client, db):
    """Someone else's attachment is a 404, never a 403 that would confirm it exists."""
    schema = client.get(f"{API}schema/", {"format": "json"}).json()
    responses = schema["paths"]["/chatwidget/attachments/{id}/"]["get"]["responses"]

    assert set(responses) == {"200", "404", "429", "503"}
