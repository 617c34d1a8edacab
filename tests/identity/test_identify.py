"""identify() for identities that are not Django logins: HMAC-verified, never on trust."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from chatwidget import identity
from chatwidget.models import Contact, Conversation

pytestmark = pytest.mark.django_db


def sign(widget, external_id: str) -> str:
    secret = widget.identity_secret.encode()
    return hmac.new(secret, external_id.encode(), hashlib.sha256).hexdigest()


def test_a_valid_user_hash_identifies_and_merges_the_anonymous_history(widget):
    anonymous = identity.create_anonymous(widget)
    Conversation.objects.create(widget=widget, contact=anonymous.token.contact)

    issued = identity.identify_external(
        anonymous.token, widget, "crm-42", user_hash=sign(widget, "crm-42"),
        attributes={"plan": "pro"},
    )

    assert issued.token.contact.external_id == "crm-42"
    assert issued.token.contact.attributes == {"plan": "pro"}
    assert issued.token.contact.conversations.count() == 1
    assert identity.resolve_token(anonymous.raw) is None


@pytest.mark.parametrize("user_hash", [None, "", "00" * 32, "not-hex"])
def test_a_missing_or_wrong_user_hash_is_refused_and_changes_nothing(widget, user_hash):
    anonymous = identity.create_anonymous(widget)

    with pytest.raises(identity.VerificationFailed):
        identity.identify_external(anonymous.token, widget, "crm-42", user_hash=user_hash)

    assert identity.resolve_token(anonymous.raw) is not None
    assert not Contact.objects.filter(external_id="crm-42").exists()


def test_a_hash_signed_for_another_id_is_refused(widget):
    with pytest.raises(identity.VerificationFailed):
        identity.identify_external(None, widget, "crm-42", user_hash=sign(widget, "crm-43"))


def test_identify_is_refused_while_the_site_session_is_logged_in(widget, user):
    issued = identity.login_user(None, user, widget)

    with pytest.raises(identity.SiteLoginOwnsIdentity):
        identity.identify_external(
            issued.token, widget, "crm-42", user_hash=sign(widget, "crm-42"), site_user=user
        )

    assert identity.resolve_token(issued.raw).contact.user == user


def test_identifying_as_the_current_identity_keeps_the_token(widget):
    first = identity.identify_external(None, widget, "crm-42", user_hash=sign(widget, "crm-42"))

    again = identity.identify_external(
        first.token, widget, "crm-42", user_hash=sign(widget, "crm-42"), name="Grace"
    )

    assert again is None
    assert identity.resolve_token(first.raw).contact.name == "Grace"


def test_switching_external_identities_never_merges_them(widget):
    first = identity.identify_external(None, widget, "crm-1", user_hash=sign(widget, "crm-1"))
    Conversation.objects.create(widget=widget, contact=first.token.contact)

    second = identity.identify_external(
        first.token, widget, "crm-2", user_hash=sign(widget, "crm-2")
    )

    assert second.token.contact.conversations.count() == 0
    assert first.token.contact.conversations.count() == 1


def test_unsigned_identify_is_accepted_only_with_verification_switched_off(widget, settings):
    settings.CHATWIDGET = {"IDENTITY_VERIFICATION": False}

    issued = identity.identify_external(None, widget, "crm-42", user_hash=None)

    assert issued.token.contact.external_id == "crm-42"


def test_tokens_are_stored_only_as_hashes(widget):
    issued = identity.create_anonymous(widget)

    assert issued.raw not in issued.token.key_hash
    assert issued.token.key_hash == hashlib.sha256(issued.raw.encode()).hexdigest()


def test_an_identity_created_by_another_request_meanwhile_is_joined_not_duplicated(
        widget, monkeypatch):
    # Another browser identified as crm-7 between this request's look-up and its insert:
    # the look-up found nothing, the insert meets the unique constraint.
    first = identity.identify_external(identity.create_anonymous(widget).token, widget,
                                       "crm-7", user_hash=sign(widget, "crm-7"))
    real, calls = identity._contact_by_external_id, []

    def look_up(*values):
        calls.append(values)
        return [] if len(calls) == 1 else real(*values)

    monkeypatch.setattr(identity, "_contact_by_external_id", look_up)

    second = identity.identify_external(identity.create_anonymous(widget).token, widget,
                                        "crm-7", user_hash=sign(widget, "crm-7"))

    assert len(calls) == 2  # looked up again after the refused insert
    assert second.token.contact.pk == first.token.contact.pk
    assert Contact.objects.filter(external_id="crm-7").count() == 1
