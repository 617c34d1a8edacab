"""``{% load chatwidget %}{% chatwidget %}``: the SDK's script tag and its configuration.

Configuration travels in ``data-*`` attributes and a ``json_script`` block, never in an
inline executable script, so a strict Content-Security-Policy needs nothing but the
static files' origin (and the nonce, which the tag copies onto the script when present).
The labels are translated here, with Django's own i18n, so the widget speaks the page's
language; the script keeps English fallbacks for pages embedding it without the tag.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import template
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse
from django.utils.translation import get_language, gettext, ngettext

from .. import conf

register = template.Library()

# The visitor socket's path under the script prefix (chatwidget.routing).
SOCKET_PATH = "ws/chatwidget/"


# One sample count per Intl.PluralRules category: gettext's plural formula of the active
# language picks the form each category needs (Arabic uses all six, English two).
PLURAL_SAMPLES = {"zero": 0, "one": 1, "two": 2, "few": 3, "many": 11, "other": 100}


def plural(forms: Callable[[int], str]) -> dict[str, str]:
    """A plural label as the SDK reads it: the text for each Intl.PluralRules category.
    ``forms(n)`` calls ``ngettext`` itself, so ``makemessages`` finds both msgids."""
    return {category: forms(n) for category, n in PLURAL_SAMPLES.items()}


def widget_strings() -> dict[str, str | dict[str, str]]:
    """THE catalogue of the widget's labels, in the active language.

    Keys are the ones the SDK's modules look up (static/chatwidget/strings.js holds the
    English msgids as the fallback for pages without this tag; tests/test_strings.py keeps
    both in step). ``makemessages`` finds them here.
    """
    return {
        "title": gettext("Support"),
        "open": gettext("Open chat"),
        "close": gettext("Close chat"),
        "unread": plural(lambda n: ngettext("{n} unread", "{n} unread", n)),
        "message": gettext("Message"),
        "placeholder": gettext("Write a message…"),
        "send": gettext("Send"),
        "attach": gettext("Attach files"),
        "remove": gettext("Remove {name}"),
        "back": gettext("All conversations"),
        "conversations": gettext("Conversations"),
        "newConversation": gettext("New conversation"),
        "empty": gettext("No conversations yet."),
        "messages": gettext("Messages"),
        "connecting": gettext("Connecting…"),
        "reconnecting": gettext("Reconnecting…"),
        "offline": gettext("Offline. Messages are sent when the connection returns."),
        "typing": gettext("{name} is typing…"),
        "agent": gettext("Support"),
        "you": gettext("You"),
        "sending": gettext("Sending…"),
        "failed": gettext("Not sent."),
        "retry": gettext("Retry"),
        "seen": gettext("Seen"),
        "drop": gettext("Drop files to attach"),
        "uploading": gettext("Uploading"),
        "online": gettext("We are online"),
        "closed": gettext("This conversation was closed. Write to reopen it."),
    }


def csp_nonce(context: template.Context) -> str:
    """The page's CSP nonce: Django's ``csp_nonce`` context variable or django-csp's
    ``request.csp_nonce``; empty when the site uses no nonce."""
    nonce = context.get("csp_nonce")
    if not nonce:
        request = context.get("request")
        nonce = getattr(request, "csp_nonce", None)
    return str(nonce) if nonce else ""


@register.inclusion_tag("chatwidget/widget.html", takes_context=True)
def chatwidget(context: template.Context, app_id: str | None = None,
               autoload: bool = True) -> dict[str, Any]:
    """Render the widget's ``<script>``; ``autoload=False`` leaves ``load()`` to the page."""
    ping_url = reverse("chatwidget:ping")
    app_id = app_id or conf.get("DEFAULT_APP_ID")
    return {
        "script_url": static("chatwidget/chatwidget.js"),
        "css_url": static("chatwidget/chatwidget.css"),
        "api_url": ping_url.removesuffix("ping/"),
        "socket_path": get_script_prefix() + SOCKET_PATH,
        "app_id": app_id,
        "autoload": bool(autoload),
        "nonce": csp_nonce(context),
        "config_id": f"chatwidget-config-{app_id}",
        "config": {
            "app_id": app_id,
            "strings": widget_strings(),
            "locale": get_language() or "en",
            "require_consent": bool(conf.get("REQUIRE_CONSENT")),
            "consent_on_open": bool(conf.get("CONSENT_ON_OPEN")),
        },
    }
