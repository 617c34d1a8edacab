"""The Django admin: every model browsable, secrets kept, revoke and rotate as actions."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.core.files.base import ContentFile
from django.urls import reverse

from chatwidget import chat, events, identity
from chatwidget.models import (
    Attachment,
    Contact,
    Conversation,
    Message,
    Widget,
    WidgetToken,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(widget, settings, tmp_path):
    """An anonymous visitor's conversation with one message and one attachment."""
    settings.MEDIA_ROOT = tmp_path
    issued = identity.create_anonymous(widget)
    contact = issued.token.contact
    conversation, _ = chat.start_conversation(contact)
    message = chat.post_contact_message(contact, conversation.pk, "Hello <b>there</b>").message
    attachment = Attachment.objects.create(
        conversation=conversation,
        message=message,
        file=ContentFile(b"hello", name="hello.txt"),
        name="hello.txt",
        size=5,
        content_type="text/plain",
    )
    return {
        "token": issued.token,
        "raw": issued.raw,
        "contact": contact,
        "conversation": conversation,
        "message": message,
        "attachment": attachment,
    }


def admin_url(model: type, view: str, *args: object) -> str:
    return reverse(f"admin:chatwidget_{model._meta.model_name}_{view}", args=args)


def test_every_model_is_registered() -> None:
    for model in (Widget, Contact, WidgetToken, Conversation, Message, Attachment):
        assert site.is_registered(model), model


@pytest.mark.parametrize(
    ("model", "key"),
    [
        (Widget, None),
        (Contact, "contact"),
        (WidgetToken, "token"),
        (Conversation, "conversation"),
        (Message, "message"),
        (Attachment, "attachment"),
    ],
)
def test_changelist_search_and_detail_pages_render(admin_client, widget, thread, model, key):
    obj = widget if key is None else thread[key]
    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    assert admin_client.get(admin_url(model, "changelist"), {"q": "x"}).status_code == 200
    assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200


def test_list_filters_render(admin_client, thread) -> None:
    for identity_kind in ("anonymous", "user", "external"):
        response = admin_client.get(admin_url(Contact, "changelist"), {"identity": identity_kind})
        assert response.status_code == 200
    for state in ("active", "revoked"):
        response = admin_client.get(admin_url(WidgetToken, "changelist"), {"state": state})
        assert response.status_code == 200


def test_token_pages_never_show_the_hash(admin_client, thread) -> None:
    token = thread["token"]
    for url in (admin_url(WidgetToken, "changelist"), admin_url(WidgetToken, "change", token.pk)):
        page = admin_client.get(url).content.decode()
        assert token.key_hash[:8] in page
        assert token.key_hash not in page
        assert thread["raw"] not in page
    contact_page = admin_client.get(admin_url(Contact, "change", thread["contact"].pk))
    assert token.key_hash not in contact_page.content.decode()


def test_token_hash_cannot_be_edited_or_tokens_added(admin_client, thread) -> None:
    token = thread["token"]
    admin_client.post(
        admin_url(WidgetToken, "change", token.pk),
        {"contact": token.contact_id, "key_hash": "0" * 64},
    )
    token.refresh_from_db()
    assert token.key_hash == identity.hash_token(thread["raw"])
    assert admin_client.get(admin_url(WidgetToken, "add")).status_code == 403


def test_revoke_action_ends_the_browsers_identity(
    admin_client, thread, django_capture_on_commit_callbacks
) -> None:
    token = thread["token"]
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            admin_url(WidgetToken, "changelist"),
            {"action": "revoke", "_selected_action": [token.pk]},
        )
    assert response.status_code == 302
    assert identity.resolve_token(thread["raw"]) is None
    assert callbacks, "revoking must tell the browser's tabs (logout event)"


def test_widget_shows_its_identity_secret_read_only(admin_client, widget) -> None:
    page = admin_client.get(admin_url(Widget, "change", widget.pk)).content.decode()
    assert widget.identity_secret in page
    assert 'name="identity_secret"' not in page


def test_view_only_staff_do_not_see_the_identity_secret(client, widget) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    agent = get_user_model().objects.create_user("viewer", password="pw-viewer-123", is_staff=True)
    agent.user_permissions.add(Permission.objects.get(codename="view_widget"))
    client.force_login(agent)
    response = client.get(admin_url(Widget, "change", widget.pk))
    assert response.status_code == 200
    assert widget.identity_secret not in response.content.decode()


def test_rotate_action_gives_a_new_secret(admin_client, widget) -> None:
    old = widget.identity_secret
    response = admin_client.post(
        admin_url(Widget, "changelist"),
        {"action": "rotate_identity_secret", "_selected_action": [widget.pk]},
    )
    assert response.status_code == 302
    widget.refresh_from_db()
    assert widget.identity_secret != old
    assert len(widget.identity_secret) >= 32
    assert not identity.verify_user_hash(widget, "ext-1", _hmac(old, "ext-1"))


def _hmac(secret: str, external_id: str) -> str:
    import hashlib
    import hmac

    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


def test_contact_page_lists_its_conversations_read_only(admin_client, thread) -> None:
    page = admin_client.get(admin_url(Contact, "change", thread["contact"].pk)).content.decode()
    assert admin_url(Conversation, "change", thread["conversation"].pk) in page
    assert "conversations-TOTAL_FORMS" in page
    assert 'name="conversations-0-status"' not in page


def test_messages_are_a_record_not_editable(admin_client, thread) -> None:
    message = thread["message"]
    page = admin_client.get(admin_url(Message, "change", message.pk)).content.decode()
    assert 'name="body"' not in page
    assert "Hello &lt;b&gt;there&lt;/b&gt;" in page  # shown as text, never as HTML
    assert admin_client.get(admin_url(Message, "add")).status_code == 403


def test_closing_in_the_admin_is_published_like_the_inbox_does(
    admin_client, thread, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    sent: list[events.Event] = []
    monkeypatch.setattr(events, "_send_now", sent.extend)
    conversation = thread["conversation"]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            admin_url(Conversation, "changelist"),
            {"action": "close", "_selected_action": [conversation.pk]},
        )
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.CLOSED
    assert {event.type for event in sent} == {events.CONVERSATION_UPDATED}
    assert {event.group for event in sent} == {
        events.contact_group(conversation.contact_id),
        events.agents_group(conversation.widget_id),
    }


def test_editing_a_conversation_status_is_published(
    admin_client, thread, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    sent: list[events.Event] = []
    monkeypatch.setattr(events, "_send_now", sent.extend)
    conversation = thread["conversation"]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            admin_url(Conversation, "change", conversation.pk),
            {
                "status": "closed",
                "assignee": "",
                "custom_attributes": "{}",
                "messages-TOTAL_FORMS": "0",
                "messages-INITIAL_FORMS": "0",
                "attachments-TOTAL_FORMS": "0",
                "attachments-INITIAL_FORMS": "0",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.CLOSED
    assert events.CONVERSATION_UPDATED in {event.type for event in sent}
