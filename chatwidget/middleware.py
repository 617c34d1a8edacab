"""ChatWidgetMiddleware: keeps the widget cookie in step with the site login.

Place it after ``AuthenticationMiddleware`` (system checks ``chatwidget.E003``/``E004``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from . import events
from .session import WidgetSession


class ChatWidgetMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        session = request.chatwidget = WidgetSession(request)
        session.enforce()
        response = self.get_response(request)
        session.enforce()
        session.write_cookie(response)
        events.recheck_users(session.recheck_user_ids)
        return response
