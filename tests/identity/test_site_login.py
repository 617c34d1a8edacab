"""The chat identity follows the site's Django login (DESIGN §2), through real auth views."""

from __future__ import annotations

import pytest
from django.contrib.auth import alogin, alogout, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory

from chatwidget import conf, identity
from chatwidget.models import Contact, Conversation, Message, WidgetToken
from chatwidget.session import get_session

pytestmark = pytest.mark.django_db

COOKIE = "chatwidget"


def anonymous_browser(widget) -> tuple[Client, identity.IssuedToken]:
    """A browser that has chatted anonymously: one conversation with one message."""
    issued = identity.create_anonymous(widget)
    conversation = Conversation.objects.create(widget=widget, contact=issued.token.contact)
    Message.objects.create(
        conversation=conversation, contact=issued.token.contact, sender_kind="contact",
        body="hello from before login",
    )
    client = Client()
    client.cookies[COOKIE] = issued.raw
    return client, issued


def browser_token(client: Client) -> WidgetToken | None:
    morsel = client.cookies.get(COOKIE)
    return identity.resolve_token(morsel.value) if morsel and morsel.value else None


def site_login(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_site_login_moves_anonymous_history_into_the_users_contact(widget, user):
    client, issued = anonymous_browser(widget)

    response = site_login(client, "alice", "pw-alice-123")

    assert response.status_code == 302
    token = browser_token(client)
    assert token is not None and token.contact.user == user
    assert Message.objects.get(body="hello from before login").contact == token.contact
    assert Conversation.objects.filter(contact=token.contact).count() == 1
    assert Contact.objects.get(pk=issued.token.contact_id).merged_into == token.contact


def test_site_login_rotates_the_token_so_the_old_one_grants_nothing(widget, user):
    client, issued = anonymous_browser(widget)

    site_login(client, "alice", "pw-alice-123")

    assert client.cookies[COOKIE].value != issued.raw
    assert identity.resolve_token(issued.raw) is None
    assert WidgetToken.objects.get(pk=issued.token.pk).revoked_at is not None


def test_login_cookie_is_httponly_and_samesite_lax(widget, user):
    client, _ = anonymous_browser(widget)

    site_login(client, "alice", "pw-alice-123")

    morsel = client.cookies[COOKIE]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"


def test_login_without_a_widget_cookie_gives_the_browser_the_users_contact(widget, user):
    client = Client()

    site_login(client, "alice", "pw-alice-123")

    assert browser_token(client).contact.user == user


def test_a_second_device_logging_in_sees_the_same_contact_and_history(widget, user):
    laptop, _ = anonymous_browser(widget)
    site_login(laptop, "alice", "pw-alice-123")
    phone = Client()

    site_login(phone, "alice", "pw-alice-123")

    assert browser_token(phone).contact == browser_token(laptop).contact
    assert browser_token(phone).pk != browser_token(laptop).pk
    assert browser_token(phone).contact.messages.filter(body="hello from before login").exists()


def test_site_logout_revokes_the_token_and_clears_the_cookie(widget, user):
    client, _ = anonymous_browser(widget)
    site_login(client, "alice", "pw-alice-123")
    token = browser_token(client)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert client.cookies[COOKIE].value == ""
    assert WidgetToken.objects.get(pk=token.pk).revoked_at is not None


def test_site_logout_also_ends_an_anonymous_or_external_identity(widget, user):
    """Logging out of the site resets the widget to a brand-new visitor, whatever it was."""
    client, issued = anonymous_browser(widget)
    client.force_login(user)
    identity.login_user(None, user)  # the user's contact exists; the cookie is still anonymous
    client.cookies[COOKIE] = issued.raw

    client.post("/accounts/logout/")

    assert WidgetToken.objects.filter(contact__user=user, revoked_at__isnull=True).count() == 1
    assert identity.resolve_token(issued.raw) is None


def test_user_bound_cookie_on_a_logged_out_request_is_revoked_and_cleared(widget, user):
    """E.g. the site session expired: the user's history must not stay visible."""
    issued = identity.login_user(None, user, widget)
    client = Client()
    client.cookies[COOKIE] = issued.raw

    response = client.get("/admin/login/")

    assert response.cookies[COOKIE].value == ""
    assert identity.resolve_token(issued.raw) is None


def test_another_users_cookie_is_replaced_and_their_history_is_not_merged(
    widget, user, other_user
):
    bob = identity.login_user(None, other_user, widget)
    Conversation.objects.create(widget=widget, contact=bob.token.contact)
    client = Client()
    client.force_login(user)
    client.cookies[COOKIE] = bob.raw

    client.get("/admin/login/")

    token = browser_token(client)
    assert token.contact.user == user
    assert Conversation.objects.filter(contact=token.contact).count() == 0
    assert Conversation.objects.filter(contact__user=other_user).count() == 1
    assert identity.resolve_token(bob.raw) is None


def test_unknown_cookie_is_cleared(widget):
    client = Client()
    client.cookies[COOKIE] = "not-a-token"

    response = client.get("/admin/login/")

    assert response.cookies[COOKIE].value == ""


def test_requests_without_the_cookie_create_no_contact(widget):
    Client().get("/admin/login/")

    assert Contact.objects.count() == 0


def test_merge_can_be_switched_off(widget, user, settings):
    settings.CHATWIDGET = {"MERGE_ON_IDENTIFY": False}
    client, issued = anonymous_browser(widget)

    site_login(client, "alice", "pw-alice-123")

    assert Conversation.objects.get().contact_id == issued.token.contact_id
    assert browser_token(client).contact.conversations.count() == 0


def test_cookie_name_and_secure_flag_follow_settings(widget, user, settings):
    settings.CHATWIDGET = {"COOKIE_NAME": "support_chat", "COOKIE_SECURE": True}
    client = Client()

    site_login(client, "alice", "pw-alice-123")

    assert conf.get("COOKIE_NAME") == "support_chat"
    assert client.cookies["support_chat"]["secure"] is True
    assert COOKIE not in client.cookies


def _request_with_session(widget_raw: str | None):
    request = RequestFactory().get("/")
    request.session = SessionStore()
    if widget_raw:
        request.COOKIES[COOKIE] = widget_raw
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    return request


@pytest.mark.django_db(transaction=True)
async def test_async_login_and_logout_identify_and_reset(widget, user):
    from asgiref.sync import sync_to_async

    issued = await sync_to_async(identity.create_anonymous)(widget)
    request = _request_with_session(issued.raw)
    session = get_session(request)

    await alogin(request, user)
    await sync_to_async(session.enforce)()

    assert session.cookie_actions[COOKIE][0] == "set"
    token = await sync_to_async(identity.resolve_token)(session.cookie_actions[COOKIE][1])
    assert token.contact.user_id == user.pk

    await alogout(request)
    await sync_to_async(session.enforce)()

    assert session.cookie_actions[COOKIE] == ("delete", None)
    assert await sync_to_async(identity.resolve_token)(session.raw or "") is None
    assert await WidgetToken.objects.filter(pk=token.pk, revoked_at__isnull=False).aexists()


def test_logout_signal_without_a_user_still_clears_the_widget(widget):
    """``user_logged_out`` carries user=None when the session was not authenticated."""
    from django.contrib.auth import logout

    issued = identity.create_anonymous(widget)
    request = _request_with_session(issued.raw)
    session = get_session(request)

    logout(request)
    session.enforce()

    assert session.cookie_actions[COOKIE] == ("delete", None)
    assert identity.resolve_token(issued.raw) is None


def test_one_contact_per_user_even_when_created_twice(widget, user):
    first = identity.contact_for_user(widget, user)
    second = identity.contact_for_user(widget, user)

    assert first == second
    assert get_user_model().objects.get(pk=user.pk).chat_contacts.count() == 1
