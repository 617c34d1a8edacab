"""Uploads: typed from their bytes, limited, all-or-nothing; downloads that never run script."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from chatwidget.attachments import sniff
from chatwidget.models import Attachment, Message

from .helpers import API, HTML, PDF, PNG, assert_error, ping, start_conversation, stored_files
from .helpers import upload as make_upload


def post_files(client, conversation_id, files, body="", **data):
    return client.post(f"{API}conversations/{conversation_id}/messages/",
                       {"body": body, "files": files, **data}, format="multipart")


def assert_nothing_written(media_root, messages_before):
    assert Message.objects.count() == messages_before
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_a_message_with_files_and_no_text(browser, conversation_id, media_root):
    response = post_files(browser, conversation_id,
                          [make_upload(), make_upload("report.pdf", PDF, "application/pdf")])

    assert response.status_code == 201, response.content
    message = response.json()["message"]
    assert message["body"] == ""
    assert [(a["name"], a["content_type"], a["size"]) for a in message["attachments"]] == [
        ("photo.png", "image/png", len(PNG)),
        ("report.pdf", "application/pdf", len(PDF)),
    ]
    assert message["attachments"][0]["url"].startswith("/chatwidget/attachments/")
    assert len(stored_files(media_root)) == 2


def test_the_type_comes_from_the_bytes_not_the_claimed_type_or_name(browser, conversation_id):
    response = post_files(browser, conversation_id,
                          [make_upload("scan.bin", PDF, "application/octet-stream")])

    assert response.json()["message"]["attachments"][0]["content_type"] == "application/pdf"


@pytest.mark.parametrize(
    ("name", "content", "claimed"),
    [
        ("photo.png", HTML, "image/png"),
        ("page.html", HTML, "text/html"),
        ("logo.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "image/png"),
        ("data.png", b"<?xml version='1.0'?><x/>", "image/png"),
        ("tool.png", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", "image/png"),
    ],
    ids=["html-named-png", "html", "svg-claiming-png", "xml-claiming-png", "exe-claiming-png"],
)
def test_disallowed_types_are_refused_whatever_the_client_claims(
    browser, conversation_id, media_root, name, content, claimed
):
    before = Message.objects.count()

    response = post_files(browser, conversation_id, [make_upload(name, content, claimed)],
                          body="look")

    assert_error(response, 400, "attachment_type_not_allowed", fields=["files"])
    assert_nothing_written(media_root, before)


@override_settings(CHATWIDGET={"MAX_ATTACHMENT_SIZE": 100})
def test_a_file_over_the_size_limit_is_refused(browser, conversation_id, media_root):
    before = Message.objects.count()

    response = post_files(browser, conversation_id,
                          [make_upload(content=PNG + b"\x00" * 100)], body="big")

    assert_error(response, 400, "attachment_too_large", fields=["files"])
    assert_nothing_written(media_root, before)


@override_settings(CHATWIDGET={"MAX_ATTACHMENTS_PER_MESSAGE": 2})
def test_too_many_files_are_refused(browser, conversation_id, media_root):
    before = Message.objects.count()

    response = post_files(browser, conversation_id, [make_upload() for _ in range(3)])

    assert_error(response, 400, "too_many_attachments", fields=["files"])
    assert_nothing_written(media_root, before)


@override_settings(CHATWIDGET={"ATTACHMENT_TYPES": ["image/png"]})
def test_the_allow_list_comes_from_settings(browser, conversation_id):
    response = post_files(browser, conversation_id,
                          [make_upload("report.pdf", PDF, "application/pdf")])

    assert_error(response, 400, "attachment_type_not_allowed", fields=["files"])


def test_one_bad_file_among_good_ones_stores_none_of_them(browser, conversation_id, media_root):
    before = Message.objects.count()

    response = post_files(browser, conversation_id,
                          [make_upload(), make_upload("x.png", HTML, "image/png")])

    assert response.status_code == 400
    assert_nothing_written(media_root, before)


def test_an_empty_file_is_refused(browser, conversation_id, media_root):
    response = post_files(browser, conversation_id, [make_upload(content=b"")], body="x")

    assert_error(response, 400, "invalid_attachment", fields=["files"])
    assert stored_files(media_root) == []


def test_an_invalid_body_with_valid_files_stores_nothing(browser, conversation_id, media_root):
    before = Message.objects.count()

    response = post_files(browser, conversation_id, [make_upload()], body="x" * 5001)

    assert_error(response, 400, "invalid", fields=["body"])
    assert_nothing_written(media_root, before)


def test_resending_files_with_the_same_client_id_keeps_only_the_first_copy(
    browser, conversation_id, media_root
):
    first = post_files(browser, conversation_id, [make_upload()], client_id="f-1")
    again = post_files(browser, conversation_id, [make_upload()], client_id="f-1")

    assert again.status_code == 200
    assert again.json()["message"] == first.json()["message"]
    assert Attachment.objects.count() == 1
    assert len(stored_files(media_root)) == 1


def test_a_file_path_in_the_name_is_reduced_to_a_display_name(browser, conversation_id):
    response = post_files(browser, conversation_id,
                          [make_upload("../../etc/pass\x07wd.png")])

    attachment = Attachment.objects.get()
    assert response.json()["message"]["attachments"][0]["name"] == "passwd.png"
    assert "etc" not in attachment.file.name and "passwd" not in attachment.file.name


def test_raster_images_are_served_inline_with_nosniff(browser, conversation_id):
    url = post_files(browser, conversation_id, [make_upload()]).json()["message"][
        "attachments"][0]["url"]

    response = browser.get(url, HTTP_ACCEPT="image/avif,image/webp,*/*")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'inline; filename="photo.png"'
    assert "sandbox" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [("report.pdf", PDF, "application/pdf"), ("notes.txt", b"plain words\n", "text/plain")],
)
def test_other_files_are_served_as_downloads(browser, conversation_id, name, content,
                                             content_type):
    url = post_files(browser, conversation_id, [make_upload(name, content, "image/png")]).json()[
        "message"]["attachments"][0]["url"]

    response = browser.get(url)

    assert response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'


def test_an_agent_can_download_but_another_bearer_client_cannot(
    agent_client, conversation_id, browser
):
    url = post_files(browser, conversation_id, [make_upload()]).json()["message"][
        "attachments"][0]["url"]
    token = ping(APIClient(), transport="bearer")["token"]

    assert agent_client.get(url).status_code == 200
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {token}").get(url).status_code == 404


def test_a_bearer_client_downloads_its_own_attachment(db):
    token = ping(APIClient(), transport="bearer")["token"]
    browser = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}")
    conversation_id = start_conversation(browser)["conversation"]["conversationId"]
    url = post_files(browser, conversation_id, [make_upload()]).json()["message"][
        "attachments"][0]["url"]

    assert browser.get(url).status_code == 200


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (PDF, "application/pdf"),
        (b"PK\x03\x04\x14\x00", "application/zip"),
        (b"hello, world\r\n\tcaf\xc3\xa9", "text/plain"),
        (b"  \n<HTML><body>", "text/html"),
        (b"\xef\xbb\xbf<script>alert(1)</script>", "text/html"),
        (b"<a href=x>", "text/html"),
        (b"<svg>", "image/svg+xml"),
        (b"<?xml?>", "text/xml"),
        (b"<ab>not a tag browsers sniff", "text/plain"),
        (b"\x00\x01\x02binary", "application/octet-stream"),
        (b"\xff\xfe\xfd not utf-8", "application/octet-stream"),
    ],
)
def test_sniffing_reads_the_type_from_the_first_bytes(head, expected):
    assert sniff(head) == expected


def test_the_api_schema_documents_the_download_as_a_file_or_a_json_404(client, db):
    """What a client generated from the schema expects from an attachment link."""
    schema = client.get(f"{API}schema/", {"format": "json"}).json()
    responses = schema["paths"]["/chatwidget/attachments/{id}/"]["get"]["responses"]

    assert {"200", "404"} <= set(responses)
    assert responses["200"]["content"]["application/octet-stream"]["schema"]["format"] == "binary"
    assert "application/json" in responses["404"]["content"]
