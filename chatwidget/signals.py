"""Site login and logout mark the request; the middleware acts on the mark. Changes to a
user's password, activity or rights make that user's sockets re-check themselves.

Receivers only mark, because the cookie can be written only on the response. Both the
sync and the async auth functions (``login``/``alogin``, ``logout``/``alogout``) send
these signals, and ``user_logged_out`` may carry ``user=None``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from . import events
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
        if user is not None:
            # Sent by the middleware once the view has flushed the session: the sockets
            # of this session (the inbox too) then find it gone.
            session.recheck_user_ids.add(user.pk)


def on_user_saved(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """A password change (other sessions end) or a deactivation: re-check now.

    A login saves only ``last_login``; that changes nothing a socket holds.
    """
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    events.recheck_users([instance.pk])


def on_user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    events.recheck_users([instance.pk])


def on_rights_changed(sender: Any, instance: Any, action: str, reverse: bool = False,
                      model: Any = None, pk_set: Any = None, **kwargs: Any) -> None:
    """Permissions or groups of users changed: an agent may have stopped being one."""
    if not action.startswith("post_"):
        return
    user_model = get_user_model()
    if isinstance(instance, user_model):
        user_ids = [instance.pk]
    elif model is user_model:
        user_ids = list(pk_set or [])
    else:  # a group's permissions (or a permission's groups): every member of them
        groups = [instance] if hasattr(instance, "user_set") else model.objects.filter(
            pk__in=pk_set or [])
        user_ids = list(user_model.objects.filter(groups__in=groups).values_list(
            "pk", flat=True).distinct())
    events.recheck_users(user_ids)
