"""What the widget reports at ping reaches the agents' contact panel."""

from __future__ import annotations

from .helpers import open_page


def test_the_page_and_browser_of_a_visitor_reach_the_contact_panel(new_context, agent):
    page = open_page(new_context(), "/?from=pricing")
    message = page.evaluate("chatwidget.sendMessage('Which plan?')")
    user_agent = page.evaluate("navigator.userAgent")

    row = agent.request.get(
        f"/chatwidget/api/agent/conversations/{message['conversationId']}/").json()
    contact = agent.request.get(f"/chatwidget/api/agent/contacts/{row['contactId']}/").json()

    assert contact["contact"]["pageUrl"] == page.url
    assert page.url.endswith("/?from=pricing")
    assert contact["contact"]["pageTitle"] == page.title()
    assert contact["contact"]["userAgent"] == user_agent
    assert contact["contact"]["identity"]["kind"] == "anonymous"
    assert page.errors == []
