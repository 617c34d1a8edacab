"""The widget's labels: one catalogue (templatetags widget_strings, translated by gettext),
whose English msgids the SDK's strings.js carries as its only fallback."""

import json
import re
from pathlib import Path

from django.utils import translation

from chatwidget.templatetags.chatwidget import widget_strings

STATIC = Path(__file__).resolve().parent.parent / "chatwidget" / "static" / "chatwidget"


def js_fallback() -> dict:
    """strings.js's STRINGS object, read as the JSON-like literal it is."""
    text = (STATIC / "strings.js").read_text()
    body = re.search(r"export const STRINGS = (\{.*?\n\});", text, re.S).group(1)
    body = re.sub(r"([{,]\s*)(\w+):", r'\1"\2":', body)
    body = body.replace("'", '"')
    return json.loads(re.sub(r",\s*\}", "}", body))


def keys_used_in_js() -> set[str]:
    used = set()
    for module in STATIC.glob("*.js"):
        used |= set(re.findall(r"\bt\('(\w+)'", module.read_text()))
    return used


def test_every_label_the_widget_uses_is_in_the_catalogue():
    used = keys_used_in_js()
    assert {"open", "send", "you", "unread", "typing"} <= used  # the scan sees the modules
    with translation.override("en"):
        assert used <= set(widget_strings())


def test_the_js_fallback_is_the_catalogue_in_english():
    with translation.override("en"):
        catalogue = widget_strings()
    fallback = js_fallback()
    assert set(fallback) == set(catalogue)
    for key, text in fallback.items():
        if isinstance(text, dict):  # plural: the English forms of the categories English has
            assert {c: catalogue[key][c] for c in text} == text, key
        else:
            assert catalogue[key] == text, key


def test_german_french_spanish_and_arabic_are_shipped():
    expected = {"de": "Chat öffnen", "fr": "Ouvrir le chat", "es": "Abrir el chat",
                "ar": "افتح المحادثة"}
    for language, text in expected.items():
        with translation.override(language):
            assert widget_strings()["open"] == text, language


def test_plural_forms_follow_the_language():
    with translation.override("ar"):
        unread = widget_strings()["unread"]
    # Arabic has six plural categories, each with its own form here.
    assert unread["one"] != unread["two"] != unread["few"]
    assert unread["few"].startswith("{n}") and "{n}" not in unread["two"]
    with translation.override("fr"):
        unread = widget_strings()["unread"]
    assert (unread["one"], unread["other"]) == ("{n} non lu", "{n} non lus")
