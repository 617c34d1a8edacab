"""ping: every load resolves the browser to a contact, and only bearer clients see a token."""

from __future__ import annotations

import time

from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from chatwidget import agents, identity
from chatwidget.models import AgentPresence, Contact, Widget

from .helpers import API, assert_error, ping, send, start_conversation


def test_first_ping_creates_an_anonymous_contact_behind_an_httponly_lax_cookie(visitor_client):
    data = ping(visitor_client)

    cookie = visitor_client.cookies["chatwidget"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert data["contact"]["identified"] is False
    assert Contact.objects.filter(pk=data["contact"]["id"], user=None).exists()


def test_the_token_never_appears_in_a_cookie_clients_response_bodies(visitor_client):
    first = visitor_client.post(f"{API}ping/", {}, format="json")
    raw = visitor_client.cookies["chatwidget"].value
    again = visitor_client.post(f"{API}ping/", {"transport": "bearer"}, format="json")
    conversation = start_conversation(visitor_client)

    for response in (first, again):
        assert "token" not in response.json()
        assert raw not in response.content.decode()
    assert raw not in str(conversation)


def test_ping_again_keeps_the_same_contact_and_reports_widget_and_resume_point(
    visitor_client, widget
):
    first = ping(visitor_client)
    created = start_conversation(visitor_client, "Where is my order?")
    again = ping(visitor_client)

    assert again["contact"]["id"] == first["contact"]["id"]
    assert again["widget"] == {"app_id": widget.app_id, "name": widget.name,
                               "greeting": widget.greeting, "color": widget.color,
                               "ask_email": widget.ask_email, "agentsOnline": False,
                               "replyTime": widget.reply_time}
    assert again["last_message_id"] == created["message"]["id"]
    assert first["last_message_id"] == 0
    assert again["csrf_token"]
    assert again["site_user"] is False
    [conversation] = again["conversations"]
    assert conversation["conversationId"] == created["conversation"]["conversationId"]
    assert conversation["lastMessage"]["body"] == "Where is my order?"
    assert conversation["unread"] == 0
    assert again["unread"]["total"] == 0


def test_unknown_app_id_is_a_404_naming_the_field(visitor_client):
    response = visitor_client.post(f"{API}ping/", {"app_id": "nope"}, format="json")

    assert_error(response, 404, "not_found", fields=["app_id"])
    assert not Contact.objects.exists()


def test_ping_with_an_ill_typed_app_id_is_a_400(visitor_client):
    response = visitor_client.post(f"{API}ping/", {"app_id": 7}, format="json")

    assert_error(response, 400, "invalid", fields=["app_id"])


def test_a_second_widget_gets_its_own_contact(visitor_client, widget):
    Widget.objects.create(app_id="shop", name="Shop")
    default = ping(visitor_client)
    shop = ping(visitor_client, app_id="shop")

    assert shop["contact"]["id"] != default["contact"]["id"]
    assert shop["widget"]["app_id"] == "shop"


def test_a_logged_in_site_user_pings_as_their_own_contact(visitor_client, user):
    visitor_client.force_login(user)
    data = ping(visitor_client)

    assert data["site_user"] is True
    assert data["contact"]["identified"] is True
    assert Contact.objects.get(pk=data["contact"]["id"]).user == user


def test_cross_origin_embed_gets_its_token_in_the_body_and_no_cookie(db):
    browser = APIClient()
    data = ping(browser, transport="bearer")

    assert data["token"]
    assert "chatwidget" not in browser.cookies
    other = APIClient(HTTP_AUTHORIZATION=f"Bearer {data['token']}")
    again = ping(other)
    assert again["contact"]["id"] == data["contact"]["id"]
    assert again["token"] == data["token"]
    assert "chatwidget" not in other.cookies


def test_bearer_clients_use_the_api_without_csrf(db):
    token = ping(APIClient(), transport="bearer")["token"]
    browser = APIClient(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {token}")

    created = start_conversation(browser, "From another origin")
    assert send(browser, created["conversation"]["conversationId"]).status_code == 201


def test_an_invalid_bearer_token_is_401_and_ping_replaces_it(db):
    browser = APIClient(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = browser.get(f"{API}conversations/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert ping(browser)["token"] != "not-a-token"


def test_no_token_at_all_is_401_so_the_sdk_pings(visitor_client):
    assert_error(visitor_client.get(f"{API}conversations/"), 401, "not_authenticated")


@override_settings(CHATWIDGET={"COOKIE_NAME": "support_chat"})
def test_the_cookie_name_comes_from_settings(visitor_client):
    ping(visitor_client)

    assert "support_chat" in visitor_client.cookies
    assert visitor_client.get(f"{API}conversations/").status_code == 200


def test_a_bearer_token_bound_to_a_site_user_is_worthless_without_that_login(user, widget):
    issued = identity.login_user(None, user, widget)
    browser = APIClient(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")

    assert_error(browser.get(f"{API}conversations/"), 401, "not_authenticated")
    assert ping(browser)["contact"]["identified"] is False


def test_a_visitor_behind_http_basic_auth_keeps_their_cookie_visitor(visitor_client):
    """A staging site behind basic auth sends ``Authorization: Basic`` on every call: that
    is not a widget token, and the cookie still says who the visitor is."""
    first = ping(visitor_client)["contact"]["id"]
    visitor_client.credentials(HTTP_AUTHORIZATION="Basic c3RhZ2luZzpzdGFnaW5n")

    assert visitor_client.get(f"{API}conversations/").status_code == 200
    assert ping(visitor_client)["contact"]["id"] == first


# ---------------------------------------------------------------- freshness


def test_a_widget_edited_in_the_admin_shows_on_the_next_ping(admin_client, widget):
    visitor = APIClient()
    assert ping(visitor)["widget"]["greeting"] == widget.greeting

    response = admin_client.post(reverse("admin:chatwidget_widget_change", args=[widget.pk]), {
        "name": "Help desk", "app_id": widget.app_id, "greeting": "Ahoy! Ask us anything.",
        "color": "#ff0000", "reply_time": "Within a day.", "allowed_origins": "[]",
    })
    assert response.status_code == 302, response.content

    config = ping(visitor)["widget"]
    assert (config["name"], config["greeting"], config["color"], config["ask_email"],
            config["replyTime"]) == ("Help desk", "Ahoy! Ask us anything.", "#ff0000", False,
                                     "Within a day.")


def test_a_saved_widget_shows_on_the_next_ping_of_a_page_that_names_it(widget):
    shop = Widget.objects.create(app_id="shop", name="Shop", greeting="Hello shoppers")
    visitor, newcomer = APIClient(), APIClient()
    assert ping(visitor, app_id="shop")["widget"]["greeting"] == "Hello shoppers"

    shop.greeting = "Sale today"
    shop.save()

    assert ping(visitor, app_id="shop")["widget"]["greeting"] == "Sale today"
    assert ping(newcomer, app_id="shop")["widget"]["greeting"] == "Sale today"


def test_a_deleted_widget_is_unknown_to_the_next_ping(widget):
    Widget.objects.create(app_id="shop", name="Shop")
    ping(APIClient(), app_id="shop")

    Widget.objects.filter(app_id="shop").delete()

    response = APIClient().post(f"{API}ping/", {"app_id": "shop"}, format="json")
    assert_error(response, 404, "not_found", ["app_id"])


def test_an_agent_opening_or_closing_the_inbox_shows_on_the_next_ping(widget, agent):
    visitor = APIClient()
    assert ping(visitor)["widget"]["agentsOnline"] is False

    AgentPresence.objects.create(user=agent, channel_name="tab-1")
    assert ping(visitor)["widget"]["agentsOnline"] is True

    AgentPresence.objects.filter(user=agent).delete()
    assert ping(visitor)["widget"]["agentsOnline"] is False


def test_an_agent_on_another_worker_shows_once_the_remembered_answer_expires(
        widget, agent, monkeypatch):
    visitor = APIClient()
    assert ping(visitor)["widget"]["agentsOnline"] is False
    # Another process's write sends no signal here; bulk_create sends none either.
    AgentPresence.objects.bulk_create([AgentPresence(user=agent, channel_name="elsewhere")])
    now = time.monotonic()
    monkeypatch.setattr(agents.time, "monotonic", lambda: now)
    assert ping(visitor)["widget"]["agentsOnline"] is False

    monkeypatch.setattr(agents.time, "monotonic", lambda: now + agents.SHOWN_ONLINE_SECONDS)

    assert ping(visitor)["widget"]["agentsOnline"] is True
