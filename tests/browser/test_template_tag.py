"""``{% chatwidget %}``: configuration in data-* and json_script, no inline executable
script, the CSP nonce honoured. (No browser needed; it lives beside the browser tests
because they exercise the same tag end to end.)"""

from __future__ import annotations

import json
import re

from django.template import Context, RequestContext, Template
from django.test import RequestFactory, override_settings

TAG = "{% load chatwidget %}{% chatwidget %}"


def render(source: str = TAG, *, nonce: str | None = None, context_nonce: str | None = None):
    request = RequestFactory().get("/")
    if nonce is not None:
        request.csp_nonce = nonce
    extra = {"csp_nonce": context_nonce} if context_nonce else {}
    return Template(source).render(RequestContext(request, extra))


def script_attrs(html: str) -> dict[str, str]:
    tag = re.search(r"<script src=[^>]*>", html).group(0)
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tag))


def test_configuration_travels_in_data_attributes_and_json_script():
    html = render()
    attrs = script_attrs(html)
    assert attrs["src"] == "/static/chatwidget/chatwidget.js"
    assert attrs["data-app-id"] == "default"
    assert attrs["data-api"] == "/chatwidget/api/"
    assert attrs["data-socket"] == "/ws/chatwidget/"
    assert attrs["data-css"] == "/static/chatwidget/chatwidget.css"
    assert attrs["data-autoload"] == "true"
    assert " defer " in html and "nonce" not in html
    config = re.search(r'<script id="chatwidget-config-default" type="application/json">(.*?)'
                       r"</script>", html).group(1)
    data = json.loads(config)
    assert data["app_id"] == "default" and data["strings"]["open"] == "Open chat"
    # Exactly two script elements: the external SDK and a JSON data block.
    assert len(re.findall(r"<script", html)) == 2


def test_app_id_and_autoload_false():
    source = "{% load chatwidget %}{% chatwidget app_id='sales' autoload=False %}"
    attrs = script_attrs(render(source))
    assert attrs["data-app-id"] == "sales"
    assert attrs["data-autoload"] == "false"
    assert attrs["data-config"] == "chatwidget-config-sales"


def test_the_csp_nonce_is_put_on_the_script():
    assert script_attrs(render(nonce="r4nd0m"))["nonce"] == "r4nd0m"
    assert script_attrs(render(context_nonce="fr0mctx"))["nonce"] == "fr0mctx"


def test_hostile_app_id_is_escaped():
    html = Template("{% load chatwidget %}{% chatwidget app_id=evil %}").render(
        Context({"request": RequestFactory().get("/"), "evil": '"><script>alert(1)</script>'}))
    assert "<script>alert(1)" not in html
    assert len(re.findall(r"<script", html)) == 2


@override_settings(CHATWIDGET={"DEFAULT_APP_ID": "main"})
def test_the_default_app_id_follows_the_setting():
    assert script_attrs(render())["data-app-id"] == "main"
