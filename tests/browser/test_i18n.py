"""The widget speaks the page's language: labels from Django's catalogues, plurals by
Intl.PluralRules, times by Intl.DateTimeFormat, and a mirrored layout for Arabic."""

from __future__ import annotations

import re

from .helpers import agent_reply, open_page, send, wait_bubble

UNREAD = "() => chatwidget.getUnreadCount().total === {}"


def launcher_label(page) -> str:
    return page.locator(".cw-launcher").get_attribute("aria-label")


def test_arabic_is_right_to_left_with_arabic_plurals_and_times(new_context, site, agent):
    page = open_page(new_context(locale="ar"))
    assert page.evaluate("document.documentElement.lang") == "ar"
    assert launcher_label(page) == "افتح المحادثة"
    width = page.viewport_size["width"]
    launcher = page.locator(".cw-launcher").bounding_box()
    assert launcher["x"] + launcher["width"] < width / 2  # at the start (left) edge

    message = send(page, "مرحبا")
    agent_reply(agent, message["conversationId"], "أهلا")
    page.wait_for_function(UNREAD.format(1))
    page.wait_for_function("(label) => document.querySelector('chatwidget-root').shadowRoot"
                           ".querySelector('.cw-launcher').getAttribute('aria-label') === label",
                           arg="افتح المحادثة, رسالة واحدة غير مقروءة")
    agent_reply(agent, message["conversationId"], "كيف أساعدك؟")
    page.wait_for_function(UNREAD.format(2))
    assert launcher_label(page) == "افتح المحادثة, رسالتان غير مقروءتين"  # the dual form

    page.evaluate("chatwidget.open()")
    wait_bubble(page, "كيف أساعدك؟")
    window = page.locator(".cw-window").bounding_box()
    assert window["x"] < width - window["x"] - window["width"]  # mirrored: near the left edge
    mine = page.locator(".cw-msg.cw-contact").bounding_box()
    theirs = page.locator(".cw-msg.cw-agent").first.bounding_box()
    assert mine["x"] < theirs["x"]  # the visitor's messages sit at the end (left) side
    assert page.locator(".cw-msg.cw-contact .cw-name").inner_text() == "أنت"
    time = page.locator(".cw-msg.cw-contact .cw-time").inner_text()
    assert re.fullmatch(r"\S+:\S+ [صم]", time), time  # Arabic AM/PM from Intl.DateTimeFormat
    assert page.errors == []


def test_german_labels_plurals_and_24_hour_times(new_context, site, agent):
    page = open_page(new_context(locale="de-DE"))
    assert launcher_label(page) == "Chat öffnen"
    message = send(page, "Hallo")
    agent_reply(agent, message["conversationId"], "Guten Tag")
    page.wait_for_function(UNREAD.format(1))
    page.wait_for_function("() => document.querySelector('chatwidget-root').shadowRoot"
                           ".querySelector('.cw-launcher').getAttribute('aria-label')"
                           " === 'Chat öffnen, 1 ungelesen'")
    page.evaluate("chatwidget.open()")
    wait_bubble(page, "Guten Tag")
    assert page.locator(".cw-input").get_attribute("placeholder") == "Nachricht schreiben…"
    assert page.locator(".cw-msg.cw-contact .cw-name").inner_text() == "Sie"
    time = page.locator(".cw-msg.cw-contact .cw-time").inner_text()
    assert re.fullmatch(r"\d\d:\d\d", time), time  # no AM/PM in German
    assert page.locator(".cw").get_attribute("dir") == "ltr"
    assert page.errors == []
