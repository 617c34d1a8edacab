"""Replays for sockets opening together: one trip, the same replay each socket would get."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chatwidget import chat, identity, resume

pytestmark = pytest.mark.django_db


def contact_with_messages(widget, count: int):
    contact = identity.create_anonymous(widget).token.contact
    conversation, _ = chat.start_conversation(contact)
    ids = [chat.post_contact_message(contact, conversation.pk, f"m{i}").message.pk
           for i in range(count)]
    return contact, ids


def test_sockets_opening_together_get_what_each_would_get_alone(widget):
    behind, behind_ids = contact_with_messages(widget, 3)
    current, current_ids = contact_with_messages(widget, 2)
    fresh = identity.create_anonymous(widget).token.contact
    asks = [(behind.pk, behind_ids[0]), (current.pk, current_ids[-1]), (fresh.pk, 0),
            (behind.pk, 0)]

    together = resume.for_contacts(asks)

    for contact_id, after in asks:
        alone = resume.for_contact(type(behind)(pk=contact_id), after)
        assert together[(contact_id, after)] == alone, (contact_id, after)
    assert [p["message"]["id"] for p in together[(behind.pk, behind_ids[0])].payloads] == (
        behind_ids[1:])
    assert together[(current.pk, current_ids[-1])].payloads == []


def test_a_burst_that_holds_everything_costs_one_query(widget):
    asks = []
    for count in (1, 2, 3):
        contact, ids = contact_with_messages(widget, count)
        asks.append((contact.pk, ids[-1]))

    with CaptureQueriesContext(connection) as queries:
        replays = resume.for_contacts(asks)

    assert all(not replay.payloads and not replay.more for replay in replays.values())
    assert len(queries.captured_queries) == 1, [q["sql"] for q in queries]


def test_the_burst_question_is_compiled_once_per_batch_size(widget):
    asks = []
    for count in (1, 2, 3):
        contact, ids = contact_with_messages(widget, count)
        asks.append((contact.pk, ids[0]))  # each has something newer, but the first

    replays = resume.for_contacts(asks)

    assert [len(replays[ask].payloads) for ask in asks] == [0, 1, 2]
    # Three asks run as a batch of four; compiled, not the ORM fallback (prepared.py).
    compiled = resume._contacts_with_newer.by_size[4]._compiled
    assert compiled and all(entry is not None for entry in compiled.values())
