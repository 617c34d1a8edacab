"""Data rights from the admin (actions, permissions, history) and the management commands."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chatwidget import chat, datarights, identity
from chatwidget.models import Attachment, Contact, Conversation

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/chatwidget/contact/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def chatting(widget, body: str, *, user=None, external_id=None) -> Contact:
    if user is not None:
        contact = identity.login_user(None, user, widget).token.contact
    else:
        contact = identity.create_anonymous(widget).token.contact
        if external_id:
            Contact.objects.filter(pk=contact.pk).update(external_id=external_id)
            contact.refresh_from_db()
    conversation, _ = chat.start_conversation(contact)
    message = chat.post_contact_message(contact, conversation.pk, body).message
    Attachment.objects.create(conversation=conversation, message=message,
                              file=ContentFile(body.encode(), name="f.txt"), name="f.txt",
                              size=len(body), content_type="text/plain")
    return contact


def staff_client(*codenames: str) -> tuple[Client, object]:
    staff = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_contact", "change_contact", *codenames]))
    client = Client()
    client.force_login(staff)
    return client, staff


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# ---------------------------------------------------------------- admin


def test_the_admin_export_action_downloads_a_zip_and_shows_in_the_contacts_history(widget):
    contact = chatting(widget, "admin export me")
    chatting(widget, "someone else")
    client, staff = staff_client("export_contact")

    response = client.post(CHANGELIST, {"action": "export_chat_data",
                                        "_selected_action": [contact.pk]})

    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    document = json.loads(archive.read(f"contact-{contact.pk}/export.json"))
    assert document["conversations"][0]["messages"][0]["body"] == "admin export me"
    assert b"someone else" not in b"".join(archive.read(n) for n in archive.namelist())
    history = client.get(reverse("admin:chatwidget_contact_history", args=[contact.pk]))
    assert "Exported the contact" in history.content.decode()


def test_the_admin_erase_action_asks_first_then_erases(widget,
                                                      django_capture_on_commit_callbacks):
    contact = chatting(widget, "erase me")
    client, staff = staff_client("erase_contact")
    chosen = {"action": "erase_chat_data", "_selected_action": [contact.pk]}

    confirm = client.post(CHANGELIST, chosen)
    assert confirm.status_code == 200 and "Yes, erase" in confirm.content.decode()
    assert Contact.objects.filter(pk=contact.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(CHANGELIST, {**chosen, "confirm": "yes"})

    assert done.status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    entry = LogEntry.objects.get(object_id=str(contact.pk))
    assert (entry.user, entry.is_deletion()) == (staff, True)


def test_staff_without_the_permissions_are_not_offered_the_actions(widget):
    contact = chatting(widget, "keep me")
    client, _ = staff_client()

    page = client.get(CHANGELIST).content.decode()
    response = client.post(CHANGELIST, {"action": "erase_chat_data", "confirm": "yes",
                                        "_selected_action": [contact.pk]})

    assert "export_chat_data" not in page and "erase_chat_data" not in page
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert response.status_code in (200, 302)


# ---------------------------------------------------------------- commands


def test_chatwidget_export_by_contact_prints_its_document(widget):
    contact = chatting(widget, "command export")
    chatting(widget, "not me")

    document = json.loads(run("chatwidget_export", "--contact", str(contact.pk)))

    assert document["contact"]["id"] == contact.pk
    assert "not me" not in json.dumps(document)
    assert LogEntry.objects.get().user.get_username() == datarights.SYSTEM_USERNAME


def test_chatwidget_export_by_user_and_external_id_and_to_a_zip(widget, user, tmp_path):
    chatting(widget, "member", user=user)
    chatting(widget, "external", external_id="crm-7")

    by_user = json.loads(run("chatwidget_export", "--user", "alice", "--actor", "alice"))
    path = tmp_path / "out.zip"
    run("chatwidget_export", "--external-id", "crm-7", "--widget", widget.app_id,
        "--zip", str(path))

    assert [c["contact"]["identity"]["kind"] for c in by_user["contacts"]] == ["user"]
    assert LogEntry.objects.filter(user=user).count() == 1
    names = zipfile.ZipFile(path).namelist()
    assert len(names) == 2 and names[1].endswith("-f.txt")
    with pytest.raises(CommandError):
        run("chatwidget_export", "--user", "nobody")


def test_chatwidget_erase_dry_run_lists_what_would_go_and_changes_nothing(widget, media_root):
    contact = chatting(widget, "dry")
    name = Attachment.objects.get().file.name

    output = run("chatwidget_erase", "--contact", str(contact.pk), "--dry-run")

    assert "1 messages" in output and name in output
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert (media_root / name).exists()


def test_chatwidget_erase_erases_and_running_it_again_is_fine(widget):
    contact = chatting(widget, "bye")

    first = run("chatwidget_erase", "--contact", str(contact.pk))
    second = run("chatwidget_erase", "--contact", str(contact.pk))

    assert "Erased" in first and "nothing to erase" in second
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_chatwidget_purge_dry_run_then_purge(widget, settings):
    settings.CHATWIDGET = {"RETENTION_DAYS": 7}
    contact = chatting(widget, "old")
    Conversation.objects.update(status="closed",
                                updated_at=timezone.now() - timedelta(days=8))
    Contact.objects.filter(pk=contact.pk).update(last_seen_at=timezone.now())

    preview = run("chatwidget_purge", "--dry-run")
    assert "Would delete 1 closed conversations" in preview
    assert Conversation.objects.exists()

    assert "Deleted 1 closed conversations" in run("chatwidget_purge")
    assert not Conversation.objects.exists()


# ---------------------------------------------------------------- settings checks


def test_a_bad_erase_mode_is_a_system_check_error(settings):
    from chatwidget.checks import check_settings

    settings.CHATWIDGET = {"ERASE_MODE": "shred"}
    assert [m.id for m in check_settings()] == ["chatwidget.E011"]
    settings.CHATWIDGET = {"RETENTION_DAYS": 0}
    assert [m.id for m in check_settings()] == ["chatwidget.E006"]
    settings.CHATWIDGET = {"RETENTION_DAYS": None, "ERASE_MODE": "anonymise"}
    assert check_settings() == []
