"""A site behind its own HTTP authentication keeps its widget visitors.

Intranets and staging sites put every request behind ``Authorization: Digest`` or
``Negotiate`` (Kerberos single sign-on), and the browser sends that header on
the widget's calls too. Only ``Bearer`` names a widget token: any other scheme leaves
the cookie to say who the visitor is.
"""

from __future__ import annotations

import pytest

from .helpers import API, ping


@pytest.mark.parametrize("header", [
    'Digest username="staff", realm="intranet", nonce="dcd98b", uri="/", response="6629fae4"',
    "Negotiate YIIGhgYJKoZIhvcSAQICAQBuggZ1MIIGcaADAgEFoQMCAQ6iBwMFACAAAACjggR",
])
def test_the_cookie_visitor_survives_the_sites_own_authorization_header(visitor_client,
                                                                        header):
    first = ping(visitor_client)["contact"]["id"]
    visitor_client.credentials(HTTP_AUTHORIZATION=header)

    assert visitor_client.get(f"{API}conversations/").status_code == 200
    assert ping(visitor_client)["contact"]["id"] == first
