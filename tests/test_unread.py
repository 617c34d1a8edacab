"""Unread counts as both sides see them after partial reads."""

import pytest

from chatwidget import chat, events, identity

pytestmark = pytest.mark.django_db


def test_an_agent_reading_part_of_a_thread_leaves_the_rest_unread(widget):
    contact = identity.create_anonymous(widget).token.contact
    conversation, _ = chat.start_conversation(contact)
    first = chat.post_contact_message(contact, conversation.pk, "one").message
    chat.post_contact_message(contact, conversation.pk, "two")

    published = chat.mark_read_by_agent(conversation, up_to=first.pk)

    unread = next(e for e in published if e.type == events.UNREAD)
    assert unread.payload["change"] == {"conversationId": conversation.pk, "count": 1}
    assert chat.agent_unread_counts([conversation.pk]) == {conversation.pk: 1}


def test_a_visitor_reading_everything_clears_their_badge(widget, agent):
    contact = identity.create_anonymous(widget).token.contact
    conversation, _ = chat.start_conversation(contact)
    chat.post_agent_message(agent, conversation, "hello")
    chat.post_agent_message(agent, conversation, "are you there?")
    assert chat.unread_for_contact(contact) == {conversation.pk: 2}

    published = chat.mark_read_by_contact(contact, conversation)

    unread = next(e for e in published if e.type == events.UNREAD)
    assert unread.payload["total"] == 0
    assert chat.unread_for_contact(contact) == {}
