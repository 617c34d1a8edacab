"""The agent inbox page inside the Django admin (DESIGN §6).

The page is a shell: the admin's header, look and dark mode, plus a configuration block.
Everything it shows comes from the agent REST API and the agent socket, so a bot or an
integration can do whatever the inbox does. :func:`install` hooks the page into any
``AdminSite`` (URLs and an app-list entry) without subclassing it.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import URLPattern, get_script_prefix, path, reverse
from django.utils.translation import gettext, gettext_lazy

from .adapter import get_adapter
from .templatetags.chatwidget import csp_nonce

# The agent socket's path under the script prefix (chatwidget.routing).
AGENT_SOCKET_PATH = "ws/chatwidget/agent/"
INBOX_TITLE = gettext_lazy("Inbox")


def inbox_config(request: HttpRequest) -> dict[str, Any]:
    """What the page's scripts need: where the API and socket are, and who is asking."""
    user = request.user
    return {
        "api": reverse("chatwidget:agent-root"),
        "socket": get_script_prefix() + AGENT_SOCKET_PATH,
        "inbox": reverse("admin:chatwidget_inbox"),
        "csrfToken": get_token(request),
        "agent": {"id": user.pk, "name": get_adapter().agent_display_name(user)},
    }


def inbox_view(request: HttpRequest, site: AdminSite,
               conversation_id: int | None = None) -> HttpResponse:
    # admin_view already sent anonymous and non-staff users to the login page; the inbox
    # also needs the adapter's agent rule, like the agent API and socket.
    if not get_adapter().is_agent(request.user):
        raise PermissionDenied(gettext("Only agents may use the inbox."))
    context = {
        **site.each_context(request),
        "title": INBOX_TITLE,
        "app_name": apps.get_app_config("chatwidget").verbose_name,
        "config": inbox_config(request),
        "conversation_id": conversation_id,
        "script_url": static("chatwidget/inbox/main.js"),
        "css_url": static("chatwidget/inbox/inbox.css"),
        "nonce": csp_nonce({"request": request}),  # type: ignore[arg-type]
    }
    return render(request, "chatwidget/inbox.html", context)


def urls(site: AdminSite) -> list[URLPattern]:
    def view(request: HttpRequest, conversation_id: int | None = None) -> HttpResponse:
        return inbox_view(request, site, conversation_id)

    wrapped = site.admin_view(view)
    return [
        path("chatwidget/inbox/", wrapped, name="chatwidget_inbox"),
        path("chatwidget/inbox/<int:conversation_id>/", wrapped,
             name="chatwidget_inbox_conversation"),
    ]


def install(site: AdminSite) -> None:
    """Add the inbox's URLs and an "Inbox" entry in the chatwidget app list to ``site``."""
    get_urls = site.get_urls
    get_app_list = site.get_app_list

    def get_urls_with_inbox() -> list[Any]:
        # First, so the admin's catch-all view never swallows the inbox's paths.
        return urls(site) + get_urls()

    def get_app_list_with_inbox(request: HttpRequest, app_label: str | None = None) -> list:
        app_list = get_app_list(request, app_label)
        if app_label not in (None, "chatwidget") or not get_adapter().is_agent(request.user):
            return app_list
        app = next((a for a in app_list if a["app_label"] == "chatwidget"), None)
        if app is None:
            app = {
                "name": apps.get_app_config("chatwidget").verbose_name,
                "app_label": "chatwidget",
                "app_url": reverse("admin:chatwidget_inbox"),
                "has_module_perms": True,
                "models": [],
            }
            app_list.append(app)
        app["models"].insert(0, {
            "name": INBOX_TITLE,
            "object_name": "Inbox",
            "perms": {"view": True},
            "admin_url": reverse("admin:chatwidget_inbox"),
            "add_url": None,
            "view_only": True,
        })
        return app_list

    site.get_urls = get_urls_with_inbox  # type: ignore[method-assign]
    site.get_app_list = get_app_list_with_inbox  # type: ignore[method-assign]
