"""The origin rule every embed check relies on (security.origin_in), case by case."""

from __future__ import annotations

import pytest

from chatwidget.security import header, is_site_origin, origin_in

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


@pytest.mark.parametrize(("origin", "pattern", "matches"), [
    ("ws://chat.example:80", "ws://chat.example", True),
    ("wss://chat.example", "wss://chat.example:443", True),
    ("ws://chat.example:81", "ws://chat.example", False),
    ("wss://chat.example:444", "wss://chat.example", False),
])
def test_websocket_schemes_imply_their_default_ports_too(origin, pattern, matches):
    assert origin_in(origin, [pattern]) is matches


def test_the_origin_header_is_read_wherever_it_comes_in_the_handshake():
    scope = {"headers": [(b"cookie", b"sessionid=x"), (b"host", b"chat.example"),
                         (b"user-agent", b"Mozilla/5.0"), (b"sec-websocket-key", b"x=="),
                         (b"origin", b"https://shop.example")]}

    assert header(scope, b"origin") == "https://shop.example"
    assert header(scope, b"referer") is None


def test_in_debug_the_development_hosts_count_only_without_allowed_hosts(settings):
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = ["chat.example.com"]

    assert is_site_origin("https://chat.example.com")
    assert not is_site_origin("http://localhost:8000")

    settings.ALLOWED_HOSTS = []
    assert is_site_origin("http://localhost:8000")
