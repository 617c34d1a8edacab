"""Serializer fields that refuse what DRF would quietly coerce.

DRF's ``CharField`` turns ``123`` into ``"123"``; the widget's API is a contract with page
JavaScript, and a number where a string belongs is a bug worth reporting, not hiding.
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import chat, validation


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
    """A flat object of scalars, checked by :func:`chat.validate_attributes`."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        try:
            return chat.validate_attributes(data)
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

