"""Who is an agent, and whether one is online.

The "Chat agents" group holds exactly what the inbox and the admin pages an agent uses
need; ``manage.py chatwidget_agent`` and the demo put users in it. Presence is one
``AgentPresence`` row per open agent socket, so every tab and every ASGI worker sees the
same answer; a row not refreshed within ``PRESENCE_TIMEOUT`` seconds no longer counts.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from . import conf, events

GROUP_NAME = "Chat agents"
# The inbox (use_inbox), the admin pages an agent looks things up in (view), the
# conversation change page (assign, close), and the saved replies agents keep themselves.
# Migration 0004 creates the group with this list as it was then; the command re-applies it.
PERMISSIONS = (
    "use_inbox",
    "view_widget",
    "view_contact",
    "view_widgettoken",
    "view_conversation",
    "change_conversation",
    "view_message",
    "view_attachment",
    "view_note",
    "view_savedreply",
    "add_savedreply",
    "change_savedreply",
    "delete_savedreply",
)


def agent_group() -> Group:
    group, _ = Group.objects.get_or_create(name=GROUP_NAME)
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="chatwidget", codename__in=PERMISSIONS)
    )
    return group


@transaction.atomic
def make_agent(user: Any) -> None:
    """Staff status (the admin needs it) and the group; nothing else."""
    user.groups.add(agent_group())
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])


@transaction.atomic
def remove_agent(user: Any) -> None:
    """Out of the group; staff status goes too unless other groups or rights need it."""
    user.groups.remove(agent_group())
    if user.is_staff and not user.is_superuser and not user.groups.exists() \
            and not user.user_permissions.exists():
        user.is_staff = False
        user.save(update_fields=["is_staff"])


# ---------------------------------------------------------------- presence


def _fresh_since() -> Any:
    return timezone.now() - timedelta(seconds=conf.get("PRESENCE_TIMEOUT"))


def online_user_ids() -> set[int]:
    from .models import AgentPresence

    return set(AgentPresence.objects.filter(seen_at__gte=_fresh_since())
               .values_list("user_id", flat=True))


def agents_online() -> bool:
    from .models import AgentPresence

    return AgentPresence.objects.filter(seen_at__gte=_fresh_since()).exists()


# How long a process may answer "an agent is online" from memory. The page-load ping says
# it on every page view, and it changes only when an agent opens or closes the inbox: an
# AgentPresence write in this process forgets it at once (apps.py connects the signals);
# another worker's, or a row going stale, shows within this many seconds. A version in
# Django's cache would not do better: that cache is per process by default.
SHOWN_ONLINE_SECONDS = 2.0
_shown_online: dict[str, tuple[float, bool]] = {}


def shown_online() -> bool:
    """:func:`agents_online` as the widget shows it: remembered ``SHOWN_ONLINE_SECONDS``."""
    remembered = _shown_online.get("online")
    if remembered is not None and remembered[0] > time.monotonic():
        return remembered[1]
    online = agents_online()
    _shown_online["online"] = (time.monotonic() + SHOWN_ONLINE_SECONDS, online)
    return online


def forget_shown_online() -> None:
    _shown_online.clear()


def on_presence_changed(sender: Any, **kwargs: Any) -> None:
    """An AgentPresence row was saved or deleted: forget now, and once its transaction
    commits (so a ping racing the write cannot remember the old answer)."""
    forget_shown_online()
    transaction.on_commit(forget_shown_online, using=kwargs.get("using"))


def _is_online(user_id: int, exclude_channel: str | None = None) -> bool:
    from .models import AgentPresence

    rows = AgentPresence.objects.filter(user_id=user_id, seen_at__gte=_fresh_since())
    if exclude_channel:
        rows = rows.exclude(channel_name=exclude_channel)
    return rows.exists()


def _presence_events(user_id: int, online: bool, widget_ids: list[int]) -> list[events.Event]:
    payload = {"agentId": user_id, "online": online, "agentsOnline": agents_online()}
    return [events.Event(events.agents_group(pk), events.AGENT_PRESENCE, payload)
            for pk in widget_ids]


def seen(user_id: int, channel_name: str, widget_ids: list[int]) -> list[events.Event]:
    """Record a live agent socket; an ``agent.presence`` event if the agent just came online.

    Also forgets rows gone stale (a worker that died without a disconnect).
    """
    from .models import AgentPresence

    was_online = _is_online(user_id)
    AgentPresence.objects.filter(seen_at__lt=_fresh_since()).delete()
    AgentPresence.objects.update_or_create(
        channel_name=channel_name, defaults={"user_id": user_id, "seen_at": timezone.now()}
    )
    return [] if was_online else _presence_events(user_id, True, widget_ids)


def gone(user_id: int, channel_name: str, widget_ids: list[int]) -> list[events.Event]:
    """Forget a closed agent socket; ``agent.presence`` if it was the agent's last one."""
    from .models import AgentPresence

    AgentPresence.objects.filter(channel_name=channel_name).delete()
    return [] if _is_online(user_id) else _presence_events(user_id, False, widget_ids)


def agent_users() -> Any:
    """Users the default adapter calls agents, in one query (for the assign menu)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    perm = Q(content_type__app_label="chatwidget", codename="use_inbox")
    permission = Permission.objects.filter(perm)
    return (
        get_user_model().objects.filter(is_active=True, is_staff=True)
        .filter(Q(is_superuser=True) | Q(user_permissions__in=permission)
                | Q(groups__permissions__in=permission))
        .distinct().order_by("pk")
    )
