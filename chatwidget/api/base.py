"""The base every chatwidget API view builds on.

A pluggable app must behave the same in every host project, so nothing here reads the
project's ``REST_FRAMEWORK`` defaults: renderers, parsers and the exception handler are
named on the class, and each view names its own authentication and permission classes.

"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, parsers
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from .. import validation
from . import errors


class JSONParser(parsers.JSONParser):
    """DRF's parser behind :mod:`chatwidget.validation`: every value checked, depth bounded.

    DRF reads the stream without Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``; a JSON body is
    held in memory whole, so the same limit applies here (413).
    """

    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: dict[str, Any] | None = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1 if limit is not None else -1) if stream else b""
        if limit is not None and len(raw) > limit:
            raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
        try:
            data = validation.parse_json(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        return validation.check_json(data)


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, its text fields checked like JSON strings."""

    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: dict[str, Any] | None = None) -> Any:
        result = super().parse(stream, media_type, parser_context)
        for key, values in result.data.lists():
            validation.check_text(key, field=None)
            for value in values:
                validation.check_text(value, field=key)
        for key in result.files:
            validation.check_text(key, field=None)
        return result


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any URL under the API that names no endpoint (or an id no row can have)."""
    return JsonResponse(errors.error_body("not_found", "No such endpoint."), status=404)


class ChatWidgetAPIView(APIView):
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    schema = AutoSchema()
    # Not the project's DEFAULT_THROTTLE_CLASSES: views name theirs (api/throttling.py).
    throttle_classes: list[type] = []
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


def validated(serializer_class: type, data: Any, *, query: bool = False) -> dict[str, Any]:
    """Run a serializer over a body or (``query``) a query string, strictly.

    Only declared fields: an unknown one is a client bug (a typo'd ``client_id`` would
    silently lose its idempotency), and the schema says so. In a query string an empty
    value is refused too; DRF would read ``?status=`` as "no filter".
    """
    serializer = serializer_class(data=data)
    if hasattr(data, "keys"):
        problems = {name: ["Unknown parameter." if query else "Unknown field."]
                    for name in sorted(set(data.keys()) - set(serializer.fields))}
        if query:
            problems.update({name: ["May not be empty."] for name in data
                             if name in serializer.fields and data.get(name) == ""})
        if problems:
            raise exceptions.ValidationError(problems)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
