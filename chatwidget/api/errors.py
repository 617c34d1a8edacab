"""One error shape for the whole API: ``{"error": {"type", "message", "fields"?}}``.

The SDK turns this object into its ``onError`` payload, so every refusal, whether raised by
DRF (parsing, authentication, validation), by ``identity`` or by ``chat``, goes through
:func:`exception_handler`. Views opt in through their base class, never through the
project's ``REST_FRAMEWORK`` settings, so a host project's own handler cannot change it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.http.multipartparser import MultiPartParserError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from .. import database, identity, validation

# DRF's exception classes → the stable ``type`` strings clients switch on.
_DRF_TYPES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ValidationError, "invalid"),
    (exceptions.ParseError, "parse_error"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "not_authenticated"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
]


class ApiError(exceptions.APIException):
    """An error raised by a view itself, with an explicit type and optional field messages."""

    def __init__(
        self,
        message: str,
        *,
        type: str = "invalid",
        status_code: int = status.HTTP_400_BAD_REQUEST,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.type = type
        self.status_code = status_code
        self.fields = fields or {}


def field_error(field: str, message: str, *, type: str = "invalid",
                status_code: int = status.HTTP_400_BAD_REQUEST) -> ApiError:
    return ApiError(message, type=type, status_code=status_code, fields={field: [message]})


def unknown_app_id() -> ApiError:
    return field_error("app_id", "No widget has this app_id.", type="not_found",
                       status_code=status.HTTP_404_NOT_FOUND)


def error_body(type: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    # A refusal may quote what it refused; what it quotes must still encode as UTF-8.
    error: dict[str, Any] = {"type": type, "message": validation.printable(message)}
    if fields:
        error["fields"] = {validation.printable(name): [validation.printable(m) for m in ms]
                           for name, ms in fields.items()}
    return {"error": error}


def unavailable_response() -> JsonResponse:
    """503 for a request the database could not serve now, outside DRF (the middleware)."""
    return JsonResponse(error_body("unavailable", database.MESSAGE), status=503,
                        headers={"Retry-After": str(database.RETRY_AFTER)})


def _messages(detail: Any) -> list[str]:
    """Flatten DRF's nested detail (list items, dict children) into plain strings."""
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _messages(value)]
    if isinstance(detail, list | tuple):
        return [m for value in detail for m in _messages(value)]
    return [str(detail)]


def _validation_body(exc: exceptions.ValidationError) -> dict:
    detail = exc.detail
    if not isinstance(detail, dict):
        messages = _messages(detail)
        return error_body("invalid", messages[0] if messages else "Invalid input.")
    general = _messages(detail.get("non_field_errors", []))
    fields = {name: _messages(value) for name, value in detail.items()
              if name != "non_field_errors"}
    if general:
        message = general[0]
    elif fields:
        name, messages = next(iter(fields.items()))
        message = f"{name}: {messages[0]}"
    else:
        message = "Invalid input."
    return error_body("invalid", message, fields)


def _drf_type(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.PermissionDenied) and str(exc.detail).startswith("CSRF Failed"):
        # Cookie clients must send the token from ping's csrf_token; say so precisely.
        return "csrf_failed"
    for cls, name in _DRF_TYPES:
        if isinstance(exc, cls):
            return name
    return getattr(exc, "default_code", "error")


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every known refusal in the one error shape; anything else stays a 500."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    headers: dict[str, str] = {}
    if isinstance(exc, RequestDataTooBig):
        body, code = error_body("too_large", "The request body is too large."), 413
    elif isinstance(exc, SuspiciousOperation | MultiPartParserError | BadRequest):
        # Too many form fields or files, a malformed multipart body: the client's fault.
        body, code = error_body("parse_error", "The request could not be parsed."), 400
    elif isinstance(exc, identity.IdentityError | validation.InvalidInput):
        fields = {exc.field: [exc.message]} if exc.field else None
        body, code = error_body(exc.type, exc.message, fields), exc.status
    elif isinstance(exc, ApiError):
        body, code = error_body(exc.type, str(exc.detail), exc.fields), exc.status_code
    elif isinstance(exc, exceptions.ValidationError):
        body, code = _validation_body(exc), exc.status_code
    elif isinstance(exc, exceptions.APIException):
        body, code = error_body(_drf_type(exc), " ".join(_messages(exc.detail))), exc.status_code
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
    elif database.unavailable(exc):
        database.report(exc)
        body, code = error_body("unavailable", database.MESSAGE), 503
        headers["Retry-After"] = str(database.RETRY_AFTER)
    else:
        return None
    set_rollback()
    return Response(body, status=code, headers=headers)
