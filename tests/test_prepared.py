"""Prepared lookups: compiled once, yet every call answers for its own values.

The page-load ping's token and conversation lookups run through :mod:`chatwidget.prepared`;
a prepared query that kept the first caller's value would show one visitor another's
identity, so these check the answers, not the speed.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from chatwidget import chat, identity
from chatwidget.models import Contact
from chatwidget.prepared import Prepared

pytestmark = pytest.mark.django_db


def test_each_token_resolves_to_its_own_contact_and_widget_in_one_query(widget):
    first, second = identity.create_anonymous(widget), identity.create_anonymous(widget)

    for issued in (first, second, first):
        with CaptureQueriesContext(connection) as captured:
            token = identity.resolve_token(issued.raw)
            assert (token.pk, token.contact.pk, token.contact.widget.app_id) == (
                issued.token.pk, issued.token.contact_id, widget.app_id)
            # Columns come back converted as the ORM's own iteration converts them.
            assert token.created_at == issued.token.created_at
            assert token.created_at.tzinfo is not None
            assert token.contact.attributes == {} and token.contact.widget.allowed_origins == []
        assert len(captured) == 1
    assert identity.resolve_token("not-a-token") is None


@pytest.mark.parametrize("count, queries", [(3, 1), (33, 2)])
def test_tokens_resolved_together_each_come_back_with_a_contact_of_their_own(
    widget, count, queries
):
    """Batches of any size (padded to a compiled size, or split past the largest)."""
    issued = [identity.create_anonymous(widget) for _ in range(count - 1)]
    # A second browser of the first contact: same person, yet instances of its own.
    issued.append(identity.issue_token(issued[0].token.contact))
    revoked = identity.create_anonymous(widget)
    identity.revoke_token(revoked.token, notify=False)
    raws = [i.raw for i in issued] + [revoked.raw, "not-a-token"]

    with CaptureQueriesContext(connection) as captured:
        found = identity.resolve_tokens(raws)

    assert len(captured) == queries
    assert {raw: (t.pk, t.contact.pk, t.contact.widget.app_id) for raw, t in found.items()} == {
        i.raw: (i.token.pk, i.token.contact_id, widget.app_id) for i in issued}
    first, second = found[issued[0].raw], found[issued[-1].raw]
    assert first.contact.pk == second.contact.pk and first.contact is not second.contact
    # The same raw again resolves again: nothing of the padding carries over.
    assert identity.resolve_tokens([issued[1].raw]) == {issued[1].raw: issued[1].token}


def test_each_contacts_overview_lists_its_own_conversations_with_their_unread(widget, agent):
    alice, bob = (identity.create_anonymous(widget).token.contact for _ in range(2))
    conversation, _ = chat.start_conversation(alice)
    chat.post_agent_message(agent, conversation, "Hello Alice")

    overview = chat.contact_overview(alice)

    assert [(c.pk, c.unread, c.last_id is not None) for c in overview] == [
        (conversation.pk, 1, True)]
    assert chat.contact_overview(bob) == []


def test_a_query_whose_value_the_orm_repeats_still_answers_right(widget):
    named = Contact.objects.create(widget=widget, name="Ada")
    mailed = Contact.objects.create(widget=widget, email="ada@example.com")
    by_name_or_email = Prepared(
        lambda value: Contact.objects.filter(Q(name=value) | Q(email=value)), str)

    assert by_name_or_email("Ada") == [named]
    assert by_name_or_email("ada@example.com") == [mailed]
    assert by_name_or_email("nobody") == []
