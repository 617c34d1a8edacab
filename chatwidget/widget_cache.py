"""Each process's copy of what a page load shows: the widget, its config, "we are online".

``ping`` runs on every page view that shows the widget. The widget it names (by app_id),
the config it hands the browser (name, greeting, color, reply time) and whether an agent
is online change when someone edits the widget or an agent opens or closes the inbox, not
per page view; reading them cost two of a ping's queries (bench/README.md).

Invalidation. Saving or deleting a Widget (the admin, ``.save()``, a queryset ``delete()``)
clears this process's copy at once, and again when the transaction commits, so a read
racing the write cannot keep the old row. Other worker processes cannot hear that signal,
so every entry also expires after ``WIDGET_TTL`` seconds: an edit reaches every worker
within that time. A version number in Django's cache, read on every ping, was the
alternative; it is not used because ``CHATWIDGET["CACHE"]`` is per process by default
(LocMemCache), where a version would not cross processes either, and on Redis it would
cost a network round trip on every page view. Presence works the same way with
``PRESENCE_TTL``: an ``AgentPresence`` row saved or deleted in this process clears it at
once; an agent on another worker shows within that many seconds, and a row that goes stale
(``PRESENCE_TIMEOUT``) without a write is noticed when the entry expires.

A queryset ``update()`` sends no signal: the TTL bounds it too. Only the ping reads from
here; identify (the HMAC secret) and the sockets' origin checks read the widget fresh.
Cached widgets are shared between requests: read them, never change them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from . import agents, conf, identity
from .models import Widget

WIDGET_TTL = 5.0
PRESENCE_TTL = 2.0


@dataclass(frozen=True)
class _Entry:
    expires: float
    widget: Widget
    config: dict[str, Any]


_widgets: dict[str, _Entry] = {}
_presence: dict[str, tuple[float, bool]] = {}


def _static_config(widget: Widget) -> dict[str, Any]:
    return {
        "app_id": widget.app_id,
        "name": widget.name,
        "greeting": widget.greeting,
        "color": widget.color,
        "ask_email": widget.ask_email,
        "replyTime": widget.reply_time,
    }


def _store(widget: Widget) -> _Entry:
    entry = _Entry(time.monotonic() + WIDGET_TTL, widget, _static_config(widget))
    _widgets[widget.app_id] = entry
    return entry


def _fresh(app_id: str) -> _Entry | None:
    entry = _widgets.get(app_id)
    return entry if entry is not None and entry.expires > time.monotonic() else None


def get_widget(app_id: str | None = None) -> Widget:
    """:func:`identity.get_widget`, from memory. An unknown app_id is never remembered:
    a widget created in another process is found at once."""
    entry = _fresh(app_id or conf.get("DEFAULT_APP_ID"))
    return entry.widget if entry is not None else _store(identity.get_widget(app_id)).widget


def agents_online() -> bool:
    cached = _presence.get("online")
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    online = agents.agents_online()
    _presence["online"] = (time.monotonic() + PRESENCE_TTL, online)
    return online


def config(widget: Widget) -> dict[str, Any]:
    """What the browser's widget shows (``ping``'s ``widget``)."""
    entry = _fresh(widget.app_id)
    if entry is None or entry.widget.pk != widget.pk:
        entry = _store(widget)
    return {**entry.config, "agentsOnline": agents_online()}


def clear() -> None:
    _widgets.clear()
    _presence.clear()


def on_changed(sender: Any, **kwargs: Any) -> None:
    """A Widget or an AgentPresence row was saved or deleted: forget, now and on commit."""
    clear()
    transaction.on_commit(clear, using=kwargs.get("using"))
