"""THE identity rule (identity.decide) as a table: one row per case, no database.

Every transport calls this one function (middleware, ping, REST bearer, visitor socket),
so a row here is a promise about all of them.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from chatwidget.identity import Action, Transport, decide, session_user
from chatwidget.models import Contact, Widget, WidgetToken

COOKIE, PING, BEARER, SOCKET = Transport.COOKIE, Transport.PING, Transport.BEARER, Transport.SOCKET
KEEP, SWITCH, REVOKE, REFUSE = Action.KEEP, Action.SWITCH, Action.REVOKE, Action.REFUSE

WIDGET = Widget(pk=1, app_id="default")
OTHER_WIDGET = Widget(pk=2, app_id="other")


def person(pk: int, *, active: bool = True):
    user = get_user_model()(pk=pk, username=f"u{pk}", is_active=active)
    user.set_unusable_password()
    return user


ALICE, BOB, GONE = person(1), person(2), person(3, active=False)
NOBODY = AnonymousUser()


def token(*, user=None, external_id=None, widget=WIDGET, revoked=False) -> WidgetToken:
    contact = Contact(pk=10, widget=widget, user=user, external_id=external_id)
    return WidgetToken(pk=20, contact=contact,
                       revoked_at=timezone.now() if revoked else None)


ANONYMOUS = token()
EXTERNAL = token(external_id="cust-1")
ALICES = token(user=ALICE)
OTHER_WIDGETS = token(widget=OTHER_WIDGET)
REVOKED = token(revoked=True)

CASES = [
    # token, site user, widget, transport, verdict
    (ANONYMOUS, NOBODY, None, COOKIE, KEEP),
    (EXTERNAL, NOBODY, None, COOKIE, KEEP),
    (ALICES, ALICE, None, COOKIE, KEEP),
    (ALICES, NOBODY, None, COOKIE, REVOKE),  # the session ended: her history leaves
    (ALICES, BOB, None, COOKIE, SWITCH),  # another user logged in: Bob's contact
    (ANONYMOUS, ALICE, None, COOKIE, SWITCH),  # logged in: merge and rotate
    (EXTERNAL, ALICE, None, COOKIE, SWITCH),  # the site login owns the identity
    (None, NOBODY, None, COOKIE, KEEP),
    (None, ALICE, None, COOKIE, KEEP),  # pages make no token; the widget's ping does
    (token(user=GONE), GONE, None, COOKIE, REVOKE),  # a deactivated user is nobody...
    (None, ALICE, WIDGET, PING, SWITCH),
    (None, NOBODY, WIDGET, PING, REFUSE),  # ...and the ping makes a new visitor
    (ANONYMOUS, NOBODY, WIDGET, PING, KEEP),
    (ANONYMOUS, ALICE, WIDGET, PING, SWITCH),
    (ALICES, NOBODY, WIDGET, PING, REVOKE),
    (OTHER_WIDGETS, NOBODY, WIDGET, PING, REFUSE),  # not this widget's, and not ended
    (OTHER_WIDGETS, ALICE, WIDGET, PING, SWITCH),
    (REVOKED, NOBODY, WIDGET, PING, REFUSE),
    (ANONYMOUS, NOBODY, None, BEARER, KEEP),
    (ALICES, NOBODY, None, BEARER, REFUSE),  # a bearer never carries her session
    (ALICES, ALICE, None, BEARER, KEEP),
    (ANONYMOUS, ALICE, None, BEARER, REFUSE),  # cannot rotate a bearer's token here
    (None, ALICE, None, BEARER, REFUSE),
    (ANONYMOUS, NOBODY, None, SOCKET, KEEP),
    (ANONYMOUS, NOBODY, WIDGET, SOCKET, KEEP),
    (OTHER_WIDGETS, NOBODY, WIDGET, SOCKET, REFUSE),  # an embed token of another widget
    (ANONYMOUS, NOBODY, OTHER_WIDGET, SOCKET, REFUSE),  # ...whichever widget is older
    (ANONYMOUS, NOBODY, OTHER_WIDGET, PING, REFUSE),
    (ALICES, ALICE, WIDGET, SOCKET, KEEP),
    (ALICES, NOBODY, WIDGET, SOCKET, REFUSE),
    (ALICES, BOB, WIDGET, SOCKET, REFUSE),
    (ANONYMOUS, ALICE, WIDGET, SOCKET, REFUSE),  # the tab reconnects after its ping
    (REVOKED, NOBODY, None, SOCKET, REFUSE),
    (None, NOBODY, None, SOCKET, REFUSE),
]


@pytest.mark.parametrize(("token", "user", "widget", "transport", "verdict"), CASES)
def test_the_identity_rule(token, user, widget, transport, verdict):
    decision = decide(token, user, widget, transport)

    assert decision.action is verdict
    if verdict is SWITCH:
        assert decision.user is user


@pytest.mark.parametrize("transport", [COOKIE, PING])
def test_a_login_in_this_request_rotates_even_a_token_already_naming_the_user(transport):
    assert decide(ALICES, ALICE, None, transport, site_event="login").action is SWITCH


@pytest.mark.parametrize("held", [ANONYMOUS, EXTERNAL, ALICES, None])
def test_a_logout_in_this_request_ends_whatever_identity_the_browser_had(held):
    assert decide(held, NOBODY, None, COOKIE, site_event="logout").action is REVOKE


def test_a_session_whose_stored_hash_no_longer_matches_is_nobody():
    """A password change elsewhere: Django's hash of the user changed."""
    stale = "0" * 64

    assert decide(ALICES, ALICE, None, SOCKET, session_hash=stale).action is REFUSE
    assert decide(ALICES, ALICE, None, SOCKET,
                  session_hash=ALICE.get_session_auth_hash()).action is KEEP


def test_a_hash_prefix_is_not_the_hash():
    assert session_user(ALICE, ALICE.get_session_auth_hash()[:1]) is None
