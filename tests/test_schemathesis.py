"""Schemathesis over the app's own OpenAPI schema, against a live server, with every check.

Run as a visitor (the widget cookie and CSRF token a ping hands out) and as an agent (a
session cookie and CSRF token); every operation of the schema is exercised by one of the
two runs. A failure prints Schemathesis' report: which check, the request as a curl line.

Two things differ from the demo site, both in ``tests/schemathesis_settings.py``: the
throttles are lifted (hundreds of requests a minute from one address and one contact
would otherwise be answered 429), and ``MAX_ATTRIBUTES`` is raised, because that limit
counts what earlier requests stored, which no schema can state. One check is narrowed on
the two send-message operations: a schema cannot describe file bytes that pass type
sniffing, so a generated multipart upload may get a 400 there, and on the agents'
conversation list, whose opaque ``cursor`` no schema can describe (``schemathesis.toml``).
"""

from __future__ import annotations

import http.cookiejar
import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import manage, server_env, start_asgi_server

HERE = Path(__file__).resolve().parent
SETTINGS = "tests.schemathesis_settings"
# Bounded so that both runs together take about a minute on two shared cores.
MAX_EXAMPLES = "12"
AGENT_SCRIPT = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

agent = get_user_model().objects.create_user("agent", password="pw-agent-123",
                                             is_staff=True, first_name="Ada")
agent.user_permissions.add(*Permission.objects.filter(
    codename__in=["use_inbox", "export_contact", "erase_contact"]))
client = Client()
client.force_login(agent)
print("SESSION=" + client.cookies["sessionid"].value)
"""
CONFIG = """
# Credentials come as headers (cookies and CSRF token); generating requests that leave
# out the schema's security parameters would test nothing the headers do not override.
[generation]
with-security-parameters = false

[[operations]]
include-operation-id = ["send_message", "agent_send_message"]
checks.positive_data_acceptance.expected-statuses = ["2XX", 400, 401, 403, 404, 409, 429]

# The conversation list's `cursor` is opaque (a page's last key, as the server encoded it):
# a generated string is well-formed for the schema and still names no place in the list.
[[operations]]
include-operation-id = ["agent_list_conversations"]
checks.positive_data_acceptance.expected-statuses = ["2XX", 400, 401, 403, 404, 409, 429]
"""


@pytest.fixture(scope="module")
def site() -> Iterator[dict]:
    tmp = Path(tempfile.mkdtemp(prefix="chatwidget-schemathesis-"))
    env = {
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp / "media"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    manage("migrate", "--noinput", env=env)
    output = manage("shell", "-c", AGENT_SCRIPT, env=env).stdout
    session = output.split("SESSION=")[1].split()[0]
    (tmp / "schemathesis.toml").write_text(CONFIG)
    server = start_asgi_server(env=env)
    try:
        yield {"url": server.url, "session": session, "tmp": tmp, "env": env}
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def ping(url: str) -> tuple[dict[str, str], str]:
    """A browser's first ping: its cookies (widget, CSRF) and the CSRF token to send."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    request = urllib.request.Request(f"{url}/chatwidget/api/ping/", data=b"{}",
                                     headers={"Content-Type": "application/json"})
    with opener.open(request, timeout=30) as response:
        token = json.load(response)["csrf_token"]
    return {cookie.name: cookie.value for cookie in jar}, token


def schemathesis(site: dict, cookies: dict[str, str], csrf: str,
                 *selection: str) -> subprocess.CompletedProcess[str]:
    st = Path(sys.executable).parent / "st"
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    command = [
        str(st), "--config-file", str(site["tmp"] / "schemathesis.toml"), "--no-color",
        "run", f"{site['url']}/chatwidget/api/schema/?format=json",
        "--checks", "all", "--max-examples", MAX_EXAMPLES, "--workers", "1",
        "--phases", "examples,coverage,fuzzing", "--seed", "20261129",
        "--header", f"Cookie: {cookie}", "--header", f"X-CSRFToken: {csrf}",
        "--request-timeout", "30", *selection,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600,
                          cwd=str(site["tmp"]), env=server_env(site["env"]))


def assert_passed(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-3000:]
    assert "No issues found" in result.stdout or " passed" in result.stdout, result.stdout


def test_visitor_operations_conform_to_the_schema_with_every_check(site):
    cookies, csrf = ping(site["url"])
    # Logout ends the identity the rest of the run uses: it runs last, on its own.
    assert_passed(schemathesis(site, cookies, csrf, "--include-tag", "visitor",
                               "--exclude-operation-id", "logout"))
    assert_passed(schemathesis(site, cookies, csrf, "--include-operation-id", "logout"))


def test_agent_operations_conform_to_the_schema_with_every_check(site):
    cookies, csrf = ping(site["url"])
    cookies = {"sessionid": site["session"], "csrftoken": cookies["csrftoken"]}
    assert_passed(schemathesis(site, cookies, csrf, "--include-tag", "agent"))
