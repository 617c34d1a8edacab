"""Browsers that come back together (every socket reconnecting after a deploy) are each
marked seen and used, in one write for all of them rather than one per socket."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chatwidget import datarights, identity
from chatwidget.models import Contact, WidgetToken

pytestmark = pytest.mark.django_db


def test_contacts_back_after_a_while_are_marked_seen_in_one_write(widget):
    away = [identity.create_anonymous(widget).token.contact for _ in range(3)]
    recent = identity.create_anonymous(widget).token.contact
    long_ago = timezone.now() - identity.LAST_SEEN_RESOLUTION - timedelta(minutes=5)
    Contact.objects.filter(pk__in=[c.pk for c in away]).update(last_seen_at=long_ago)
    for contact in away:
        contact.refresh_from_db()
    recently = recent.last_seen_at

    with CaptureQueriesContext(connection) as captured:
        identity.touch_all([*away, recent])

    assert [q["sql"].split()[0] for q in captured] == ["UPDATE"]
    for contact in away:
        assert contact.last_seen_at > long_ago
        contact.refresh_from_db()
        assert contact.last_seen_at > long_ago
    recent.refresh_from_db()
    assert recent.last_seen_at == recently
    with CaptureQueriesContext(connection) as captured:
        identity.touch_all([*away, recent])
    assert len(captured) == 0


def test_tokens_resolved_together_after_an_hour_are_marked_used_in_one_write(widget):
    issued = [identity.create_anonymous(widget) for _ in range(3)]
    an_hour_ago = timezone.now() - datarights.TOKEN_TOUCH_INTERVAL - timedelta(minutes=1)
    WidgetToken.objects.update(last_used_at=an_hour_ago)

    with CaptureQueriesContext(connection) as captured:
        found = identity.resolve_tokens([i.raw for i in issued])

    assert [q["sql"].split()[0] for q in captured] == ["SELECT", "UPDATE"]
    assert all(token.last_used_at > an_hour_ago for token in found.values())
    assert WidgetToken.objects.filter(last_used_at__gt=an_hour_ago).count() == 3
