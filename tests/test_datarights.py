"""Data rights: export, erase, retention purge and token expiry (chatwidget.datarights)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.utils import timezone

from chatwidget import chat, datarights, identity
from chatwidget.models import Attachment, Contact, Conversation, Message, Note, WidgetToken

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Runs on_commit work (file deletion, socket events) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("dpo", password="pw-dpo-123", is_staff=True)


def stored_files(root) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() \
        else set()


def attach(conversation: Conversation, message: Message, content: bytes,
           name: str) -> Attachment:
    return Attachment.objects.create(
        conversation=conversation, message=message, file=ContentFile(content, name=name),
        name=name, size=len(content), content_type="text/plain",
    )


def person(widget, tag: str, *, user=None) -> dict:
    """A contact with attributes and two conversations, each with a message and a file."""
    if user is None:
        issued = identity.create_anonymous(widget)
    else:
        issued = identity.login_user(None, user, widget)
    contact = issued.token.contact
    identity.update_contact(contact, attributes={"plan": f"plan-{tag}"}, email=f"{tag}@x.io")
    return {"contact": contact, "raw": issued.raw, "tag": tag, "conversations": []}


def talk(someone: dict, n: int) -> None:
    contact, tag = someone["contact"], someone["tag"]
    conversation, _ = chat.start_conversation(contact)
    conversation.custom_attributes = {"topic": f"topic-{tag}-{n}"}
    conversation.save()
    message = chat.post_contact_message(contact, conversation.pk, f"body-{tag}-{n}").message
    attach(conversation, message, f"file-{tag}-{n}".encode(), f"{tag}-{n}.txt")
    someone["conversations"].append(conversation)


@pytest.fixture
def two_people(widget):
    """Alice and Bob, whose conversations were created interleaved."""
    alice, bob = person(widget, "alice"), person(widget, "bob")
    for n in range(2):
        talk(alice, n)
        talk(bob, n)
    return alice, bob


# ---------------------------------------------------------------- export


def test_the_export_holds_one_contacts_conversations_messages_attributes_and_files(
        two_people, staff):
    alice, bob = two_people

    document = datarights.export_contact(alice["contact"], actor=staff, for_agent=True)

    assert document["contact"]["id"] == alice["contact"].pk
    assert document["contact"]["attributes"] == {"plan": "plan-alice"}
    assert document["contact"]["email"] == "alice@x.io"
    assert [c["id"] for c in document["conversations"]] == [
        c.pk for c in alice["conversations"]]
    assert [c["customAttributes"]["topic"] for c in document["conversations"]] == [
        "topic-alice-0", "topic-alice-1"]
    assert [m["body"] for c in document["conversations"] for m in c["messages"]] == [
        "body-alice-0", "body-alice-1"]
    assert [a["name"] for c in document["conversations"] for a in c["attachments"]] == [
        "alice-0.txt", "alice-1.txt"]
    assert "bob" not in json.dumps(document)


def test_the_zip_export_carries_the_attachment_files_and_nothing_of_another_contact(
        two_people, staff):
    alice, _ = two_people
    out = io.BytesIO()

    datarights.write_zip(out, [alice["contact"]], actor=staff, for_agent=True)

    archive = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    folder = f"contact-{alice['contact'].pk}/"
    document = json.loads(archive.read(folder + "export.json"))
    files = {a["file"]: archive.read(folder + a["file"])
             for c in document["conversations"] for a in c["attachments"]}
    assert sorted(files.values()) == [b"file-alice-0", b"file-alice-1"]
    assert len(archive.namelist()) == 3
    assert not any(b"bob" in archive.read(name) for name in archive.namelist())


def test_an_export_is_logged_in_the_contacts_admin_history(two_people, staff):
    alice, _ = two_people

    datarights.export_contact(alice["contact"], actor=staff, for_agent=False)

    entry = LogEntry.objects.get()
    assert (entry.user, entry.object_id) == (staff, str(alice["contact"].pk))
    assert "Exported" in entry.get_change_message()


def test_the_export_includes_the_anonymous_history_merged_at_login(widget, user, staff):
    anonymous = identity.create_anonymous(widget)
    chat.start_conversation(anonymous.token.contact)
    chat.post_contact_message(anonymous.token.contact,
                              Conversation.objects.get().pk, "before login")
    identity.update_contact(anonymous.token.contact, attributes={"utm": "ad"})

    contact = identity.login_user(anonymous.token, user, widget).token.contact
    document = datarights.export_contact(contact, actor=staff, for_agent=False)

    assert [m["body"] for c in document["conversations"] for m in c["messages"]] == [
        "before login"]
    assert [c["id"] for c in document["mergedContacts"]] == [anonymous.token.contact.pk]


# ---------------------------------------------------------------- erase


def test_after_erase_no_row_and_no_file_of_the_contact_remains(two_people, staff,
                                                                 media_root, committed):
    alice, bob = two_people
    bobs_files = {a.file.name for a in Attachment.objects.filter(
        conversation__contact=bob["contact"])}
    assert len(stored_files(media_root)) == 4

    with committed():
        erasure = datarights.erase_contact(alice["contact"], actor=staff)

    assert (erasure.conversations, erasure.messages, erasure.attachments) == (2, 2, 2)
    pk = alice["contact"].pk
    assert not Contact.objects.filter(pk=pk).exists()
    for model in (Conversation, Message, WidgetToken):
        assert not model.objects.filter(contact=pk).exists()
    assert not Attachment.objects.filter(conversation__contact=pk).exists()
    assert stored_files(media_root) == bobs_files
    assert Message.objects.filter(contact=bob["contact"]).count() == 2
    assert identity.resolve_token(alice["raw"]) is None
    assert identity.resolve_token(bob["raw"]) is not None


def test_erasing_twice_is_harmless(two_people, staff):
    alice, _ = two_people
    datarights.erase_contact(alice["contact"], actor=staff)

    again = datarights.erase_contact(alice["contact"], actor=staff)

    assert (again.conversations, again.messages, again.attachments, again.tokens) == (
        0, 0, 0, 0)


def test_private_notes_are_in_an_agents_export_only_and_only_the_contacts_own(two_people,
                                                                             staff):
    alice, bob = two_people
    chat.post_note(staff, alice["conversations"][0], "alice seems upset")
    chat.post_note(staff, bob["conversations"][0], "bob asked for a refund")

    for_agent = datarights.export_contact(alice["contact"], actor=staff, for_agent=True)
    own = datarights.export_contact(alice["contact"], actor=staff, for_agent=False)

    assert [n["body"] for n in for_agent["notes"]] == ["alice seems upset"]
    assert "notes" not in own
    assert "alice seems upset" not in json.dumps(own)


def test_anonymise_mode_removes_the_private_notes_on_the_kept_conversations(
        two_people, staff, settings, committed):
    settings.CHATWIDGET = {"ERASE_MODE": "anonymise"}
    alice, bob = two_people
    chat.post_note(staff, alice["conversations"][0], "alice's address is 1 Main St")
    chat.post_note(staff, bob["conversations"][0], "bob's note stays")

    with committed():
        datarights.erase_contact(alice["contact"], actor=staff)

    assert list(Note.objects.values_list("body", flat=True)) == ["bob's note stays"]


def test_anonymise_mode_keeps_a_bare_contact_and_conversation_rows(two_people, staff,
                                                                   settings, media_root,
                                                                   committed):
    settings.CHATWIDGET = {"ERASE_MODE": "anonymise"}
    alice, _ = two_people

    with committed():
        datarights.erase_contact(alice["contact"], actor=staff)

    contact = Contact.objects.get(pk=alice["contact"].pk)
    assert (contact.email, contact.name, contact.attributes, contact.user) == (
        "", "", {}, None)
    conversations = Conversation.objects.filter(contact=contact)
    assert conversations.count() == 2
    assert all(c.custom_attributes == {} for c in conversations)
    assert not Message.objects.filter(contact=contact).exists()
    assert not WidgetToken.objects.filter(contact=contact).exists()
    assert len(stored_files(media_root)) == 2  # only Bob's


def test_deleting_a_site_user_erases_their_contact_and_its_files(widget, user, media_root,
                                                                   committed):
    someone = person(widget, "carol", user=user)
    talk(someone, 0)
    assert len(stored_files(media_root)) == 1

    with committed():
        user.delete()

    assert not Contact.objects.filter(pk=someone["contact"].pk).exists()
    assert not Message.objects.exists()
    assert stored_files(media_root) == set()
    entry = LogEntry.objects.get()
    assert entry.user.get_username() == datarights.SYSTEM_USERNAME
    assert not entry.user.is_active and not entry.user.has_usable_password()


def test_deleting_a_site_user_in_anonymise_mode_keeps_the_bare_contact(widget, user,
                                                                       settings):
    settings.CHATWIDGET = {"ERASE_MODE": "anonymise"}
    someone = person(widget, "carol", user=user)
    talk(someone, 0)

    user.delete()

    contact = Contact.objects.get(pk=someone["contact"].pk)
    assert (contact.user, contact.email) == (None, "")
    assert not Message.objects.exists()


# ---------------------------------------------------------------- retention


NOW = timezone.now()


def aged(conversation: Conversation, days: float, *, closed: bool) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(
        status="closed" if closed else "open", updated_at=NOW - timedelta(days=days))


def idle(contact: Contact, days: float) -> None:
    Contact.objects.filter(pk=contact.pk).update(last_seen_at=NOW - timedelta(days=days))


@pytest.fixture
def retention(settings):
    settings.CHATWIDGET = {"RETENTION_DAYS": 30, "ANONYMOUS_TOKEN_IDLE_DAYS": None}


def test_purge_removes_exactly_what_is_older_than_the_retention(two_people, retention,
                                                                user, widget, media_root,
                                                                committed):
    alice, bob = two_people
    for someone in (alice, bob):
        idle(someone["contact"], 1)
    aged(alice["conversations"][0], 30.01, closed=True)   # closed, just past retention
    aged(alice["conversations"][1], 29.99, closed=True)   # closed, just within
    aged(bob["conversations"][0], 90, closed=False)       # old but still open
    old_visitor = person(widget, "old")
    talk(old_visitor, 0)
    idle(old_visitor["contact"], 31)
    old_member = person(widget, "member", user=user)
    idle(old_member["contact"], 365)                      # identified: kept
    before = stored_files(media_root)

    with committed():
        result = datarights.purge(now=NOW)

    assert (result.conversations, result.contacts, result.attachments) == (1, 1, 2)
    assert not Conversation.objects.filter(pk=alice["conversations"][0].pk).exists()
    assert Conversation.objects.filter(pk=alice["conversations"][1].pk).exists()
    assert Conversation.objects.filter(pk=bob["conversations"][0].pk).exists()
    assert not Contact.objects.filter(pk=old_visitor["contact"].pk).exists()
    assert Contact.objects.filter(pk=old_member["contact"].pk).exists()
    assert len(before - stored_files(media_root)) == 2
    assert datarights.purge(now=NOW).conversations == 0


def test_a_dry_run_purge_counts_what_the_purge_then_deletes(two_people, retention,
                                                            media_root):
    alice, bob = two_people
    aged(alice["conversations"][0], 40, closed=True)
    idle(bob["contact"], 40)
    before = stored_files(media_root)

    preview = datarights.purge(now=NOW, dry_run=True)

    assert stored_files(media_root) == before
    assert Conversation.objects.count() == 4
    assert str(datarights.purge(now=NOW)) == str(preview)
    assert (preview.conversations, preview.contacts, preview.attachments) == (1, 1, 3)


def test_without_retention_days_the_purge_keeps_every_conversation(two_people, settings):
    settings.CHATWIDGET = {"RETENTION_DAYS": None}
    alice, _ = two_people
    aged(alice["conversations"][0], 5000, closed=True)

    result = datarights.purge(now=NOW)

    assert (result.conversations, result.contacts) == (0, 0)
    assert Conversation.objects.count() == 4


def test_the_purge_removes_revoked_and_expired_token_rows_only(widget, user, settings):
    settings.CHATWIDGET = {"ANONYMOUS_TOKEN_IDLE_DAYS": 30, "TOKEN_MAX_AGE_DAYS": 365}
    revoked = identity.create_anonymous(widget).token
    identity.revoke_token(revoked)
    idle_anonymous = identity.create_anonymous(widget).token
    WidgetToken.objects.filter(pk=idle_anonymous.pk).update(
        last_used_at=NOW - timedelta(days=31))
    idle_member = identity.login_user(None, user, widget).token
    WidgetToken.objects.filter(pk=idle_member.pk).update(last_used_at=NOW - timedelta(days=300))
    fresh = identity.create_anonymous(widget).token

    assert datarights.purge(now=NOW).tokens == 2

    assert set(WidgetToken.objects.values_list("pk", flat=True)) == {idle_member.pk, fresh.pk}


def test_a_token_opens_the_chat_exactly_when_the_purge_would_keep_it(widget, user, settings):
    settings.CHATWIDGET = {"ANONYMOUS_TOKEN_IDLE_DAYS": 30, "TOKEN_MAX_AGE_DAYS": 365}
    now = timezone.now()
    tokens = {name: identity.create_anonymous(widget)
              for name in ("fresh", "revoked", "idle anonymous", "too old")}
    tokens["idle member"] = identity.login_user(None, user, widget)
    tokens["idle external"] = identity.issue_token(
        Contact.objects.create(widget=widget, external_id="crm-7"))
    identity.revoke_token(tokens["revoked"].token)
    for name in ("idle anonymous", "idle member", "idle external"):
        WidgetToken.objects.filter(pk=tokens[name].token.pk).update(
            last_used_at=now - timedelta(days=31))
    WidgetToken.objects.filter(pk=tokens["too old"].token.pk).update(
        created_at=now - timedelta(days=366))

    kept = set(WidgetToken.objects.filter(datarights.live_tokens()).values_list("pk", flat=True))
    opens = {name for name, issued in tokens.items()
             if identity.resolve_token(issued.raw) is not None}

    assert opens == {"fresh", "idle member", "idle external"}
    assert opens == {name for name, issued in tokens.items() if issued.token.pk in kept}


# ---------------------------------------------------------------- token expiry


def test_an_anonymous_token_expires_after_its_idle_days(widget, settings):
    settings.CHATWIDGET = {"ANONYMOUS_TOKEN_IDLE_DAYS": 30}
    issued = identity.create_anonymous(widget)
    WidgetToken.objects.filter(pk=issued.token.pk).update(
        last_used_at=timezone.now() - timedelta(days=29))
    assert identity.resolve_token(issued.raw) is not None

    WidgetToken.objects.filter(pk=issued.token.pk).update(
        last_used_at=timezone.now() - timedelta(days=31))

    assert identity.resolve_token(issued.raw) is None


def test_an_identified_token_expires_only_at_the_absolute_maximum(widget, user, settings):
    settings.CHATWIDGET = {"ANONYMOUS_TOKEN_IDLE_DAYS": 30, "TOKEN_MAX_AGE_DAYS": 100}
    issued = identity.login_user(None, user, widget)
    WidgetToken.objects.filter(pk=issued.token.pk).update(
        last_used_at=timezone.now() - timedelta(days=99),
        created_at=timezone.now() - timedelta(days=99))
    assert identity.resolve_token(issued.raw) is not None

    WidgetToken.objects.filter(pk=issued.token.pk).update(
        created_at=timezone.now() - timedelta(days=101))

    assert identity.resolve_token(issued.raw) is None


def test_using_a_token_refreshes_its_idle_clock_at_most_once_an_hour(widget):
    issued = identity.create_anonymous(widget)
    recent = timezone.now() - timedelta(minutes=30)
    WidgetToken.objects.filter(pk=issued.token.pk).update(last_used_at=recent)

    identity.resolve_token(issued.raw)
    assert WidgetToken.objects.get(pk=issued.token.pk).last_used_at == recent

    stale = timezone.now() - timedelta(hours=2)
    WidgetToken.objects.filter(pk=issued.token.pk).update(last_used_at=stale)
    identity.resolve_token(issued.raw)
    assert WidgetToken.objects.get(pk=issued.token.pk).last_used_at > stale


def test_a_login_revokes_the_merged_anonymous_contacts_other_tokens(widget, user):
    first = identity.create_anonymous(widget)
    other_tab = identity.issue_token(first.token.contact)  # a concurrent second token

    identity.login_user(first.token, user, widget)

    assert identity.resolve_token(first.raw) is None
    assert identity.resolve_token(other_tab.raw) is None


def test_the_cookie_lives_no_longer_than_the_token(settings):
    settings.CHATWIDGET = {"TOKEN_MAX_AGE_DAYS": 30}
    assert datarights.cookie_max_age() == 30 * 86400
    settings.CHATWIDGET = {"TOKEN_MAX_AGE_DAYS": None, "COOKIE_AGE": 1000}
    assert datarights.cookie_max_age() == 1000
