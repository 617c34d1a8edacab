"""The base every chatwidget API view builds on.

A pluggable app must behave the same in every host project, so nothing here reads the
project's ``REST_FRAMEWORK`` defaults: renderers, parsers and the exception handler are
named on the class, and each view names its own authentication and permission classes.

"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from . import errors


class ChatWidgetAPIView(APIView):
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    schema = AutoSchema()
    # authentication_classes and permission_classes are deliberately not set here: every
    # view states them (a test checks), so none silently inherits the project's defaults.

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Any]:
        return errors.exception_handler

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        # Every answer depends on who asks (the widget cookie, the session): shared caches
        # must not keep it, and a browser must not show it again after a logout.
        response.headers.setdefault("Cache-Control", "private, no-store")
        return response


F = TypeVar("F", bound=Callable[..., Any])


def document(**kwargs: Any) -> Callable[[F], F]:
    """``extend_schema`` for a view method, independent of the project's settings.

    ``extend_schema`` builds on ``DEFAULT_SCHEMA_CLASS``, which is DRF's own AutoSchema
    unless the project configured drf-spectacular's; naming the base on the method makes
    the annotations work either way.
    """

    def decorator(method: F) -> F:
        method.schema = AutoSchema  # type: ignore[attr-defined]
        return extend_schema(**kwargs)(method)

    return decorator


def validated(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
