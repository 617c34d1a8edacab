"""The inbox page inside the admin: who may open it, where it is linked, what it hands
its scripts. (What it does in a browser: tests/browser/test_inbox.py.)"""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

INBOX = "/admin/chatwidget/inbox/"


@pytest.fixture
def agent_browser(agent) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def page_config(html: str) -> dict:
    match = re.search(r'<script id="chatwidget-inbox-config" type="application/json">(.*?)'
                      r"</script>", html, re.S)
    assert match, "no configuration block"
    return json.loads(match.group(1))


def test_the_inbox_has_named_admin_urls() -> None:
    assert reverse("admin:chatwidget_inbox") == INBOX
    assert reverse("admin:chatwidget_inbox_conversation", args=[7]) == f"{INBOX}7/"


def test_an_agent_gets_the_page_with_its_configuration(agent_browser, agent) -> None:
    response = agent_browser.get(f"{INBOX}7/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-conversation="7"' in html
    assert "/static/chatwidget/inbox/main.js" in html and 'type="module"' in html
    assert "/static/chatwidget/inbox/inbox.css" in html
    config = page_config(html)
    assert config["api"] == "/chatwidget/api/agent/"
    assert config["socket"] == "/ws/chatwidget/agent/"
    assert config["agent"] == {"id": agent.pk, "name": "Ada"}
    assert config["inbox"] == INBOX
    assert config["csrfToken"]
    # Configuration only: the page runs no inline script.
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
    assert inline == []


def test_staff_without_the_inbox_permission_get_403(db) -> None:
    staffer = get_user_model().objects.create_user("staffer", password="pw", is_staff=True)
    client = Client()
    client.force_login(staffer)
    assert client.get(INBOX).status_code == 403
    assert client.get(f"{INBOX}3/").status_code == 403
    assert INBOX not in client.get("/admin/").content.decode()


def test_anonymous_visitors_are_sent_to_the_admin_login(client) -> None:
    response = client.get(INBOX)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_admin_index_links_agents_to_the_inbox(agent_browser) -> None:
    html = agent_browser.get("/admin/").content.decode()
    assert f'href="{INBOX}"' in html


def test_the_page_carries_the_csp_nonce_of_the_request(agent_browser, rf, agent) -> None:
    from django.contrib.admin import site

    from chatwidget.admin_inbox import inbox_view

    request = rf.get(INBOX)
    request.user = agent
    request.csp_nonce = "n0nce-value"
    request.session = agent_browser.session
    html = inbox_view(request, site).content.decode()
    assert 'nonce="n0nce-value"' in html
