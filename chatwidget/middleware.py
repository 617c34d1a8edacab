"""ChatWidgetMiddleware: keeps the widget cookie in step with the site login.

Place it after ``AuthenticationMiddleware`` (system checks ``chatwidget.E003``/``E004``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import OperationalError
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, resolve

from . import database, events
from .api.errors import unavailable_response
from .session import WidgetSession


class ChatWidgetMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        session = request.chatwidget = WidgetSession(request)
        try:
            session.enforce()
            response = self.get_response(request)
            session.enforce()
        except OperationalError as error:
            # The widget's first query is often the request's: waiting in vain for a pooled
            # connection here must still give the SDK its JSON error, not an HTML 500.
            if not (database.unavailable(error) and is_chatwidget_url(request)):
                raise
            database.report(error)
            return unavailable_response()
        session.write_cookie(response)
        events.recheck_users(session.recheck_user_ids)
        return response


def is_chatwidget_url(request: HttpRequest) -> bool:
    """One of chatwidget's own URLs (API, attachments, export): its callers expect the
    API's error shape. The site's own pages keep the site's error handling."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return "chatwidget" in match.namespaces
