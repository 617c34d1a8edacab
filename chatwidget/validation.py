"""What every value from a client must be before any other code sees it.

REST bodies (the API's JSON parser), query strings, path ids and socket frames all pass
through here, so a value that cannot be stored or serialised again (a lone surrogate, NUL),
that would exhaust the parser (deep nesting) or overflow the database (a 2**64 id) is
refused at the door with a 400 or an ``error`` frame, never a 500 later on.
"""

from __future__ import annotations

import json
import math
from typing import Any

# The database's signed 64-bit integer: any id or count the API accepts must fit.
MAX_INT = 2**63 - 1
# Frames and request bodies are flat objects with at most a small nested object or list;
# a hundred levels only serves to exhaust a parser.
MAX_DEPTH = 16


class InvalidInput(Exception):
    """A refused value; ``status``/``type``/``field`` become the API error or error frame.

    ``chat.ChatError`` extends it, so both transports translate every refusal in one place.
    """

    status = 400
    type = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored, or None."""
    if "\x00" in value:
        return "must not contain NUL characters."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain lone surrogate characters (invalid Unicode)."
    return None


def printable(text: str) -> str:
    """``text`` safe to put in a response: broken characters shown as escapes."""
    return text if text_problem(text) is None else (
        text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8"))


def check_text(value: str, *, field: str | None = None) -> str:
    problem = text_problem(value)
    if problem:
        raise InvalidInput(f"{field or 'Text'} {problem}", field=field)
    return value


def check_json(value: Any, *, field: str | None = None, depth: int = 0) -> Any:
    """Walk a decoded JSON value: text, keys, integer range, finite numbers and depth.

    ``field`` names the top-level key the value came from, so the error can name it.
    """
    if depth > MAX_DEPTH:
        raise InvalidInput(f"{field or 'The document'} is nested more than {MAX_DEPTH} levels.",
                           field=field)
    if isinstance(value, str):
        check_text(value, field=field)
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int | float):
        # Floats too: a number no integer column could hold is no id, count or attribute.
        if not (math.isfinite(value) and -MAX_INT - 1 <= value <= MAX_INT):
            raise InvalidInput(f"{field or 'A number'} is out of range (±2^63).", field=field)
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = text_problem(key)
            if problem:  # never echo the broken key itself as a field name
                raise InvalidInput(f"{field or 'A'} key {problem}", field=field)
            check_json(item, field=field if depth else key, depth=depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            check_json(item, field=field, depth=depth + 1)
    return value


class IdConverter:
    """``<cw_id:pk>``: ASCII digits that fit the database, else no match (JSON 404).

    Django's ``int`` converter accepts ``99999999999999999999``, which overflows the
    database's integer on lookup (a 500 on SQLite).
    """

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_INT:
            raise ValueError(value)
        return number

    def to_url(self, value: int) -> str:
        return str(value)


def register_id_converter() -> None:
    """Once per process, from whichever of the app's URLconfs is imported first."""
    from django.urls.converters import get_converters, register_converter

    if "cw_id" not in get_converters():
        register_converter(IdConverter, "cw_id")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON.")


def parse_json(text: str | bytes) -> Any:
    """``json.loads`` that refuses NaN/Infinity and deep nesting with ``ValueError``.

    Python's decoder recurses per level; a body of ``[`` * 100000 would raise
    ``RecursionError`` out of it, so that becomes a plain parse failure too.
    """
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError(f"JSON is nested more than {MAX_DEPTH} levels.") from None
    return value


def parse_int(value: Any, *, field: str | None = None, minimum: int = 0,
              maximum: int = MAX_INT, text: bool = False) -> int:
    """An integer from a JSON number (``12`` or ``12.0``, as JSON Schema counts them) or,
    with ``text`` (query strings, forms), a string of ASCII digits only.

    ``str.isdigit()`` and ``int()`` accept Arabic-Indic and superscript digits; those are
    not ids a client meant to send, and some of them ``int()`` refuses after ``isdigit()``
    said yes.
    """
    name = field or "The value"
    if isinstance(value, bool) or (isinstance(value, str) and not text):
        raise InvalidInput(f"{name} must be an integer.", field=field)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        digits = value[1:] if value.startswith("-") else value
        if not digits or len(digits) > 19 or not (digits.isascii() and digits.isdigit()):
            raise InvalidInput(f"{name} must be an integer.", field=field)
        value = int(value)
    if not isinstance(value, int):
        raise InvalidInput(f"{name} must be an integer.", field=field)
    if value < minimum:
        raise InvalidInput(f"{name} must be at least {minimum}.", field=field)
    if value > maximum:
        raise InvalidInput(f"{name} must be at most {maximum}.", field=field)
    return value
