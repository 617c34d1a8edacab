"""The origin rule every embed check relies on (security.origin_in), case by case."""

from __future__ import annotations

import pytest

from chatwidget.security import origin_in

SHOP = "https://shop.example"


@pytest.mark.parametrize("origin", [None, "", "null", "shop.example", "https://shop.example:x",
                                    "https:///"])
def test_a_missing_or_malformed_origin_matches_nothing(origin):
    assert not origin_in(origin, [SHOP, "*"])  # not even the wildcard admits them


@pytest.mark.parametrize(("origin", "pattern"), [
    ("https://shop.example:443", SHOP),
    ("http://shop.example", "http://shop.example:80"),
    ("HTTPS://Shop.Example/", SHOP),
])
def test_default_ports_and_case_do_not_matter(origin, pattern):
    assert origin_in(origin, [pattern])


@pytest.mark.parametrize(("origin", "pattern"), [
    ("http://shop.example:81", "http://shop.example"),
    ("https://shop.example:80", SHOP),
    ("http://shop.example:443", "http://shop.example"),
])
def test_another_port_is_another_origin(origin, pattern):
    assert not origin_in(origin, [pattern])


def test_the_wildcard_admits_any_well_formed_origin_and_junk_patterns_are_ignored():
    assert origin_in("https://anywhere.example", ["*"])
    assert not origin_in(SHOP, [None, 42, "not an origin"])
