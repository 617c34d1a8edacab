"""A login on one widget never folds in the visitor's history from another widget.

Each widget is its own support desk (its own agents, its own contacts): the anonymous
chat a visitor had on the shop's widget stays on the shop's widget when the same
browser pings the site's widget as a logged-in user.
"""

from __future__ import annotations

from rest_framework.test import APIClient

from chatwidget.models import Contact, Conversation, Widget

from ..api.helpers import ping, start_conversation


def test_logging_in_on_one_widget_leaves_another_widgets_anonymous_chat_alone(widget, user):
    shop = Widget.objects.create(app_id="shop", name="Shop")
    assert shop.pk > widget.pk
    token = ping(APIClient(), app_id="shop", transport="bearer")["token"]
    embed = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}")
    conversation_id = start_conversation(embed, "my order for the shop")["conversation"][
        "conversationId"]
    shop_contact = Conversation.objects.get(pk=conversation_id).contact

    browser = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}")
    browser.force_login(user)
    contact_id = ping(browser, app_id=widget.app_id)["contact"]["id"]

    users_contact = Contact.objects.get(pk=contact_id)
    assert users_contact.user == user and users_contact.widget == widget
    assert not users_contact.conversations.exists()
    assert Conversation.objects.get(pk=conversation_id).contact == shop_contact
    assert shop_contact.widget == shop
    shop_contact.refresh_from_db()
    assert shop_contact.merged_into is None
