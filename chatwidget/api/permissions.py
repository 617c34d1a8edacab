"""Who may call which endpoint: visitors hold a widget token, agents pass the adapter."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from ..adapter import get_adapter
from ..models import WidgetToken


class IsVisitor(BasePermission):
    """A request authenticated by a widget token; without one DRF answers 401."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, WidgetToken)


class IsAgent(BasePermission):
    """The adapter decides who is an agent, so sites can widen or narrow it."""

    message = "Only agents may use the agent API."

    def has_permission(self, request: Request, view: Any) -> bool:
        return get_adapter().is_agent(request.user)
