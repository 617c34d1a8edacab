"""The one place a site customises chatwidget without forking it.

Select a subclass with ``CHATWIDGET["ADAPTER"]`` (a dotted path), as django-allauth does
with its account adapter.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from django.utils.module_loading import import_string

from . import conf

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

    from .models import Contact


class ChatWidgetAdapter:
    def populate_contact(self, contact: Contact, user: AbstractBaseUser) -> None:
        """Copy what agents should see of a site user onto its contact (name, email)."""
        email = getattr(user, "email", "") or ""
        full_name = ""
        if hasattr(user, "get_full_name"):
            full_name = user.get_full_name() or ""
        contact.email = email or contact.email
        contact.name = full_name or contact.name or user.get_username()

    def is_agent(self, user: Any) -> bool:
        """Who may use the inbox and the agent API: active staff with the app's permission."""
        return bool(
            user
            and user.is_authenticated
            and user.is_active
            and user.is_staff
            and user.has_perm("chatwidget.use_inbox")
        )

    def agent_display_name(self, user: Any) -> str:
        """The name a visitor sees on an agent's replies."""
        if hasattr(user, "get_short_name") and user.get_short_name():
            return user.get_short_name()
        return user.get_username()


@cache
def _adapter_for(path: str) -> ChatWidgetAdapter:
    return import_string(path)()


def get_adapter() -> ChatWidgetAdapter:
    return _adapter_for(conf.get("ADAPTER"))
