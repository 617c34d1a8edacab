"""Reading "up to" an id below every message of a conversation reads none of them: on a
new site the first reply is message 1, and it stays unread for the visitor."""

from __future__ import annotations

import pytest

from chatwidget import chat
from chatwidget.models import Contact

from .helpers import API, ping

# Message ids from 1, as on a new site.
pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)


def test_a_read_pointer_below_the_first_message_leaves_it_unread(visitor_client, agent):
    contact = Contact.objects.get(pk=ping(visitor_client)["contact"]["id"])
    conversation, _ = chat.start_conversation(contact)
    reply = chat.post_agent_message(agent, conversation, "hello from support").message
    assert reply.pk == 1

    response = visitor_client.post(f"{API}conversations/{conversation.pk}/read/",
                                   {"last_read_id": 0}, format="json")

    assert response.status_code == 200
    assert chat.unread_for_contact(contact) == {conversation.pk: 1}
