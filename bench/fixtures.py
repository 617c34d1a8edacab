"""The setup step: migrate, then create the visitors, agents and identities a run needs.

Runs as its own process (``python -m bench.fixtures SPEC.json OUT.json``) with the same
environment as the server, so it writes to the very database the server reads. Visitors
are created with ``identity.create_anonymous`` directly in the database: 2000 HTTP pings
would measure the setup instead of the storm, and would take longer than the storm.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import time
from typing import Any


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()


def _agents(count: int) -> list[dict[str, Any]]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.test import Client

    permission = Permission.objects.get(codename="use_inbox", content_type__app_label="chatwidget")
    agents = []
    for index in range(count):
        user, _ = get_user_model().objects.get_or_create(
            username=f"bench-agent-{index}",
            defaults={"is_staff": True, "first_name": f"Agent {index}"},
        )
        user.user_permissions.add(permission)
        client = Client()
        client.force_login(user)
        agents.append({"user_id": user.pk,
                       "session": client.cookies[settings.SESSION_COOKIE_NAME].value})
    return agents


def _visitors(widget: Any, count: int, with_conversation: int) -> list[dict[str, Any]]:
    from django.db import transaction

    from chatwidget import identity
    from chatwidget.models import Conversation

    visitors = []
    with transaction.atomic():
        for index in range(count):
            issued = identity.create_anonymous(widget)
            entry = {"token": issued.raw, "contact": issued.token.contact_id}
            if index < with_conversation:
                conversation = Conversation.objects.create(
                    widget=widget, contact_id=issued.token.contact_id
                )
                entry["conversation"] = conversation.pk
            visitors.append(entry)
    return visitors


def _seen_minutes_ago(visitors: list[dict[str, Any]]) -> None:
    """The storm's visitors come back as after a deploy, and as in a full run, where the
    storm follows minutes of chat ladder: each handshake marks its contact seen again,
    which ``--only-storm`` would otherwise never meet."""
    from datetime import timedelta

    from django.utils import timezone

    from chatwidget.models import Contact

    Contact.objects.filter(pk__in=[entry["contact"] for entry in visitors]).update(
        last_seen_at=timezone.now() - timedelta(minutes=10))


def _identities(widget: Any, count: int, run_tag: str) -> list[dict[str, Any]]:
    """Fresh anonymous browsers, each with a signed external id to identify as."""
    out = []
    for entry in _visitors(widget, count, 0):
        external_id = f"bench-{run_tag}-{entry['contact']}"
        user_hash = hmac.new(widget.identity_secret.encode(), external_id.encode(),
                             hashlib.sha256).hexdigest()
        out.append({"token": entry["token"], "external_id": external_id,
                    "user_hash": user_hash})
    return out


def _widget_html() -> dict[str, Any]:
    """What ``{% chatwidget %}`` puts in a visitor's page (P4 follows its references)."""
    from django.template import Context, Template
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    try:
        html = Template("{% load chatwidget %}{% chatwidget %}").render(
            Context({"request": request})
        )
    except Exception as error:  # another helper's tag may not exist yet
        return {"html": None, "error": f"{type(error).__name__}: {error}"}
    return {"html": html, "error": None}


def build(spec: dict[str, Any]) -> dict[str, Any]:
    from django.core.management import call_command

    timings = {}
    started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    timings["migrate"] = round(time.monotonic() - started, 2)

    from chatwidget import identity

    started = time.monotonic()
    widget = identity.get_widget()
    visitors = _visitors(widget, spec["visitors"], spec["visitors_with_conversation"])
    _seen_minutes_ago(visitors)
    result = {
        "widget": {"id": widget.pk, "app_id": widget.app_id},
        "agents": _agents(spec["agents"]),
        "visitors": visitors,
        "identities": _identities(widget, spec["identities"], spec.get("run_tag", "run")),
    }
    timings["create"] = round(time.monotonic() - started, 2)
    if spec.get("widget_html"):
        result["widget_html"] = _widget_html()
    result["timings"] = timings
    return result


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit("usage: python -m bench.fixtures SPEC.json OUT.json")
    with open(argv[0]) as handle:
        spec = json.load(handle)
    _setup_django()
    result = build(spec)
    with open(argv[1], "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main(sys.argv[1:])
