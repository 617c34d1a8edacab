"""The validation layer's own rules, over generated input (hypothesis)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatwidget import validation

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(
        alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF)),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(alphabet=st.characters(min_codepoint=0,
                                                     max_codepoint=0x10FFFF),
                              max_size=5), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_check_json_accepts_or_refuses_but_never_raises_anything_else(value):
    try:
        checked = validation.check_json(value)
    except validation.InvalidInput as error:
        assert validation.text_problem(error.message) is None  # safe to send back
        return
    # What passes can be encoded and stored: strict UTF-8, no NUL, integers in range.
    encoded = json.dumps(checked, ensure_ascii=False, allow_nan=False)
    assert "\x00" not in encoded
    encoded.encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=25))
def test_parse_int_takes_only_ascii_digits_in_range(text):
    try:
        number = validation.parse_int(text, text=True)
    except validation.InvalidInput:
        ascii_digits = text.isascii() and text.isdigit()
        assert not ascii_digits or int(text) > validation.MAX_INT
        return
    assert text.isascii() and text.isdigit() and number == int(text)
    assert 0 <= number <= validation.MAX_INT


@pytest.mark.parametrize("value", ["١٢", "²", "12", True, "1e3", 2**63, -1, 1.5, float("inf")])
def test_parse_int_refuses_what_is_not_a_plain_integer(value):
    with pytest.raises(validation.InvalidInput):
        validation.parse_int(value)


def test_parse_json_refuses_nan_and_parser_exhausting_depth():
    for text in ("NaN", "[Infinity]", "[" * 100_000 + "]" * 100_000):
        with pytest.raises(ValueError):
            validation.parse_json(text)
