"""Site login and logout mark the request; the middleware acts on the mark.

Receivers only mark, because the cookie can be written only on the response. Both the
sync and the async auth functions (``login``/``alogin``, ``logout``/``alogout``) send
these signals, and ``user_logged_out`` may carry ``user=None``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser

from .session import get_session


def on_user_logged_in(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if request is not None:
        # Rotate even if the cookie already names this user: a login never keeps a token
        # that existed before it (no fixation).
        session = get_session(request)
        session.login_pending = True
        session.site_user = user


def on_user_logged_out(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if request is not None:
        session = get_session(request)
        session.logout_pending = True
        session.site_user = AnonymousUser()
