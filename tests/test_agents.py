"""Agents from their first login: the "Chat agents" group, ``chatwidget_agent``, and
everything an agent made that way can open, with nothing else granted."""

from __future__ import annotations

from io import StringIO

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from chatwidget import agents, chat
from chatwidget.models import Attachment, Contact, Note, SavedReply
from tests.channels import sockets

pytestmark = pytest.mark.django_db


def make_agent_by_command(username: str = "newbie") -> object:
    get_user_model().objects.create_user(username, password="pw-newbie-123")
    out = StringIO()
    call_command("chatwidget_agent", username, stdout=out)
    assert "is a chat agent" in out.getvalue()
    return get_user_model().objects.get(username=username)


def test_the_migration_creates_the_chat_agents_group_with_exactly_the_agent_permissions():
    group = Group.objects.get(name=agents.GROUP_NAME)

    codenames = set(group.permissions.values_list("codename", flat=True))

    assert codenames == set(agents.PERMISSIONS)


def test_the_command_makes_a_user_an_agent_and_remove_undoes_it():
    user = make_agent_by_command()
    assert user.is_staff and agents.GROUP_NAME in {g.name for g in user.groups.all()}
    assert user.has_perm("chatwidget.use_inbox")
    assert user.user_permissions.count() == 0

    call_command("chatwidget_agent", "newbie", "--remove", stdout=StringIO())

    user = get_user_model().objects.get(pk=user.pk)
    assert not user.is_staff and not user.groups.exists()
    assert not user.has_perm("chatwidget.use_inbox")


def test_the_command_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="No user 'ghost'"):
        call_command("chatwidget_agent", "ghost", stdout=StringIO())


def test_removing_keeps_staff_status_that_other_rights_need():
    user = make_agent_by_command()
    user.groups.add(Group.objects.create(name="Editors"))

    call_command("chatwidget_agent", "newbie", "--remove", stdout=StringIO())

    assert get_user_model().objects.get(pk=user.pk).is_staff


@pytest.fixture
def thread(widget, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    contact = Contact.objects.create(widget=widget, name="Ann")
    conversation, _ = chat.start_conversation(contact)
    message = chat.post_contact_message(contact, conversation.pk, "Hello").message
    attachment = Attachment.objects.create(conversation=conversation, message=message,
                                           file="x.txt", name="x.txt", size=1,
                                           content_type="text/plain")
    note = Note.objects.create(conversation=conversation, body="private")
    reply = SavedReply.objects.create(shortcut="hi", text="Hi!")
    return {"conversation": conversation, "contact": contact, "message": message,
            "attachment": attachment, "note": note, "savedreply": reply}


def test_an_agent_made_by_the_command_uses_the_agent_api_and_the_admin_pages(thread):
    client = Client()
    client.force_login(make_agent_by_command())

    assert client.get("/chatwidget/api/agent/").status_code == 200
    assert client.get("/chatwidget/api/agent/conversations/").status_code == 200
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert b"permission to view or edit anything" not in index.content
    for model, obj in thread.items():
        assert client.get(reverse(f"admin:chatwidget_{model}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:chatwidget_{model}_change",
                                  args=[obj.pk])).status_code == 200, model
    assert client.get(reverse("admin:chatwidget_savedreply_add")).status_code == 200
    # Not an administrator: users and groups stay out of reach.
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403


def test_staff_without_the_permission_get_403_on_the_agent_api(thread):
    client = Client()
    client.force_login(get_user_model().objects.create_user("staff", is_staff=True))

    for path in ("", "conversations/", "saved-replies/", "agents/",
                 f"conversations/{thread['conversation'].pk}/notes/"):
        assert client.get(f"/chatwidget/api/agent/{path}").status_code == 403, path


@pytest.mark.django_db(transaction=True)
async def test_the_agent_socket_opens_for_a_command_made_agent_and_closes_4403_after_removal(
    widget,
):
    user = await sync_to_async(make_agent_by_command)()

    def session_cookie():
        client = Client()
        client.force_login(user)
        return {"sessionid": client.cookies["sessionid"].value}

    cookies = await sync_to_async(session_cookie)()
    inbox = await sockets.agent(cookies)
    assert inbox.ready["agent"]["id"] == user.pk
    await inbox.disconnect()

    def remove_but_keep_staff():
        call_command("chatwidget_agent", "newbie", "--remove", stdout=StringIO())
        get_user_model().objects.filter(pk=user.pk).update(is_staff=True)

    await sync_to_async(remove_but_keep_staff)()
    assert await sockets.accepted_then_closed("/ws/chatwidget/agent/",
                                              cookies=cookies) == 4403


def test_an_agent_sees_shared_and_own_saved_replies_in_the_admin_and_cannot_give_one_away():
    me = make_agent_by_command()
    colleague = make_agent_by_command("colleague")
    SavedReply.objects.create(shortcut="shared", text="for all")
    SavedReply.objects.create(shortcut="mine", text="mine", owner=me)
    theirs = SavedReply.objects.create(shortcut="theirs", text="private", owner=colleague)
    client = Client()
    client.force_login(me)

    listing = client.get(reverse("admin:chatwidget_savedreply_changelist")).content.decode()
    assert "/shared" in listing and "/mine" in listing and "/theirs" not in listing
    assert client.get(reverse("admin:chatwidget_savedreply_change",
                              args=[theirs.pk])).status_code == 302  # "doesn't exist"
    given = client.post(reverse("admin:chatwidget_savedreply_add"),
                        {"shortcut": "gift", "text": "x", "owner": colleague.pk})
    kept = client.post(reverse("admin:chatwidget_savedreply_add"),
                       {"shortcut": "own", "text": "x", "owner": me.pk})

    assert given.status_code == 200 and not SavedReply.objects.filter(shortcut="gift").exists()
    assert kept.status_code == 302 and SavedReply.objects.get(shortcut="own").owner == me
