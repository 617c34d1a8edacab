"""Admin pages agents read: the thread as text, the inbox link, constant query counts."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chatwidget import chat
from chatwidget.models import Attachment, Contact, Conversation, Message, Note, SavedReply

pytestmark = pytest.mark.django_db

HOSTILE = '<img src=x onerror="alert(1)">'
INERT = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"


@pytest.fixture
def hostile(widget, agent, settings, tmp_path):
    """A conversation where every visitor- or agent-typed field carries markup."""
    settings.MEDIA_ROOT = tmp_path
    contact = Contact.objects.create(
        widget=widget, name=HOSTILE, email="x@example.com", attributes={HOSTILE: HOSTILE},
        page_url=f"https://x.example/?q={HOSTILE}", user_agent=HOSTILE,
    )
    conversation, _ = chat.start_conversation(contact, custom_attributes={"k": HOSTILE})
    message = chat.post_contact_message(contact, conversation.pk, f"Hi {HOSTILE}").message
    Attachment.objects.create(conversation=conversation, message=message,
                              file=ContentFile(b"x", name="f.txt"), name=f"{HOSTILE}.txt",
                              size=1, content_type="text/plain")
    chat.post_agent_message(agent, conversation, "Hello, how can I help?")
    chat.post_note(agent, conversation, f"note {HOSTILE}")
    SavedReply.objects.create(shortcut="x", text=HOSTILE)
    return conversation


def change_page(client, model, obj) -> str:
    response = client.get(reverse(f"admin:chatwidget_{model._meta.model_name}_change",
                                  args=[obj.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_conversation_page_shows_the_thread_with_senders_times_and_files(
    admin_client, hostile
):
    page = change_page(admin_client, Conversation, hostile)

    assert "Message 1 in conversation" not in page and "Message object" not in page
    assert f"Hi {INERT}" in page
    assert "Hello, how can I help?" in page and ">agent<" in page
    assert f"note {INERT}" in page and "private note" in page
    attachment = hostile.attachments.get()
    assert reverse("chatwidget:attachment", args=[attachment.pk]) in page
    assert page.index(f"Hi {INERT}") < page.index("Hello, how can I help?")


@pytest.fixture(params=["superuser", "agent"])
def reader(request, admin_client, db):
    """Someone reading admin pages: a superuser (edit forms), or an agent made by the
    command (read-only fields: a different rendering path)."""
    if request.param == "superuser":
        return admin_client
    get_user_model().objects.create_user("reader")
    call_command("chatwidget_agent", "reader", stdout=StringIO())
    client = Client()
    client.force_login(get_user_model().objects.get(username="reader"))
    return client


def test_hostile_payloads_render_inert_in_every_admin_page(reader, hostile):
    admin_client = reader
    pages = [
        change_page(admin_client, Conversation, hostile),
        change_page(admin_client, Contact, hostile.contact),
        change_page(admin_client, Message, hostile.messages.first()),
        change_page(admin_client, Note, hostile.notes.get()),
        change_page(admin_client, SavedReply, SavedReply.objects.get()),
        change_page(admin_client, Attachment, hostile.attachments.get()),
    ]
    for model in (Conversation, Contact, Message, Note, SavedReply, Attachment):
        pages.append(admin_client.get(
            reverse(f"admin:chatwidget_{model._meta.model_name}_changelist")).content.decode())

    for page in pages:
        assert HOSTILE not in page
        assert "onerror=\"alert" not in page
    assert INERT in pages[0] and INERT in pages[1]


def test_the_conversation_page_links_to_it_in_the_inbox(admin_client, hostile):
    page = change_page(admin_client, Conversation, hostile)
    assert f'href="/admin/chatwidget/inbox/{hostile.pk}/">Open in inbox' in page


@pytest.mark.parametrize("model", [Conversation, Contact, Message, Note, Attachment,
                                   SavedReply])
def test_changelists_run_the_same_number_of_queries_for_5_and_50_rows(
    admin_client, widget, agent, model
):
    other = get_user_model().objects.create_user("agent2", is_staff=True)

    def add_rows(count):
        for i in range(count):
            contact = Contact.objects.create(widget=widget, name=f"c{i}")
            conversation, _ = chat.start_conversation(contact)
            message = chat.post_contact_message(contact, conversation.pk, f"m{i}").message
            chat.update_conversation(conversation, assignee=agent if i % 2 else other)
            Note.objects.create(conversation=conversation, author=agent, body="n")
            Attachment.objects.create(conversation=conversation, message=message,
                                      file="f.txt", name="f.txt", size=1,
                                      content_type="text/plain")
            SavedReply.objects.create(shortcut=f"s{i}", text="t",
                                      owner=agent if i % 2 else None)

    def queries():
        url = reverse(f"admin:chatwidget_{model._meta.model_name}_changelist")
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url).status_code == 200
        return len(captured)

    add_rows(5)
    five = queries()
    add_rows(45)
    assert queries() == five
