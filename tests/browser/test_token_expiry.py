"""An expired widget token: the widget silently starts over as a new anonymous visitor."""

from __future__ import annotations

import sqlite3

from .helpers import bubbles, callbacks, contact, open_page, send, wait_new_contact, wait_ready


def expire_tokens(site, contact_id: int) -> None:
    """Age the contact's tokens past ANONYMOUS_TOKEN_IDLE_DAYS, as months of absence would."""
    connection = sqlite3.connect(site.db_path, timeout=10)
    try:
        with connection:
            connection.execute("UPDATE chatwidget_widgettoken SET last_used_at = ? "
                               "WHERE contact_id = ?", ("2000-01-01 00:00:00", contact_id))
    finally:
        connection.close()


def test_an_expired_token_makes_the_widget_a_new_visitor_without_an_error(new_context, site):
    context = new_context()
    page = open_page(context)
    before = contact(page)
    send(page, "said long ago")

    expire_tokens(site, before["id"])
    page.reload()
    wait_ready(page)

    after = wait_new_contact(page, before["id"])
    assert after["identified"] is False and after["id"] != before["id"]
    assert page.evaluate("chatwidget.getUnreadCount()") == {"total": 0, "conversations": {}}
    page.evaluate("chatwidget.open()")
    assert "said long ago" not in bubbles(page)
    assert callbacks(page, "onError") == [] and page.errors == []
    # The new visitor's cookie works: it chats on as usual.
    assert send(page, "hello again")["body"] == "hello again"
