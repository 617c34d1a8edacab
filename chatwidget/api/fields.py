"""Serializer fields that refuse what DRF would quietly coerce.

DRF's ``CharField`` turns ``123`` into ``"123"``; the widget's API is a contract with page
JavaScript, and a number where a string belongs is a bug worth reporting, not hiding.
"""

from __future__ import annotations

import math
import re
from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import chat, conf, validation

_ATTRIBUTE_KEY = re.compile(r"[A-Za-z0-9_.-]+")
_SCALARS = (str, int, float, bool, type(None))


def validate_attributes(value: Any, *, existing: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one rule for contact attributes and conversation custom attributes.

    Flat objects of scalars only: agents see them as a key/value table, and the limits keep
    a page script from growing a contact row without bound. ``existing`` is what the value
    will be merged into, so the limit holds for the result, not just for one call.
    Raises ``chat.ChatError`` (without a field; the caller names it).
    """
    if not isinstance(value, dict):
        raise chat.ChatError("Must be a JSON object of keys to scalar values.")
    max_keys = conf.get("MAX_ATTRIBUTES")
    if len(value) > max_keys or len({**(existing or {}), **value}) > max_keys:
        raise chat.ChatError(f"At most {max_keys} attributes.")
    key_length = conf.get("MAX_ATTRIBUTE_KEY_LENGTH")
    value_length = conf.get("MAX_ATTRIBUTE_VALUE_LENGTH")
    for key, item in value.items():
        if len(key) > key_length or not _ATTRIBUTE_KEY.fullmatch(key):
            raise chat.ChatError(
                f"Attribute names are 1 to {key_length} characters of A-Z a-z 0-9 _ . - "
                f"({key[:key_length]!r} is not)."
            )
        if not isinstance(item, _SCALARS):
            raise chat.ChatError(
                f"Attribute {key!r} must be a string, number, boolean or null (no nesting)."
            )
        if isinstance(item, float) and not math.isfinite(item):
            raise chat.ChatError(f"Attribute {key!r} must be a finite number.")
        if isinstance(item, str) and validation.text_problem(item):
            raise chat.ChatError(f"Attribute {key!r} {validation.text_problem(item)}")
        if isinstance(item, str) and len(item) > value_length:
            raise chat.ChatError(f"Attribute {key!r} is longer than {value_length} characters.")
    return value


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {
            "oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"},
                      {"type": "null"}],
        },
    }
)
class AttributesField(serializers.Field):
    """A flat object of scalars, checked by :func:`validate_attributes`."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        try:
            return validate_attributes(data)
        except validation.InvalidInput as exc:
            raise serializers.ValidationError(exc.message) from exc

    def to_representation(self, value: Any) -> Any:
        return value


class StrictIntegerField(serializers.IntegerField):
    """An integer from a JSON number or a string of ASCII digits, within the database's range.

    DRF's ``IntegerField`` runs ``int()`` on the text, which takes ``"١٢"`` and leaves an
    unbounded field to overflow the database; :func:`validation.parse_int` does neither.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", validation.MAX_INT)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        # Text only where everything is text (query strings, forms); JSON has numbers.
        text = isinstance(getattr(self.root, "initial_data", None), QueryDict)
        try:
            value = validation.parse_int(data, minimum=-validation.MAX_INT - 1, text=text)
        except validation.InvalidInput:
            self.fail("invalid")
        return super().to_internal_value(value)


class StrictCharField(serializers.CharField):
    """A ``CharField`` that accepts only JSON strings."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)

