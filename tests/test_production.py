"""The documented production command serves the site, its widget and its sockets.

Tried as a new user would: a worker started as docs/deploy.md says, with production
settings (DEBUG off, collectstatic run), must show the widget on the page without any
proxy serving /static/.
"""

from __future__ import annotations

import gzip
import json
import re
import shlex
import sys
import urllib.request
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.servers import (
    REPO_ROOT,
    ServerProcess,
    free_port,
    manage,
    production_command,
    server_env,
)

pytestmark = pytest.mark.timeout(180)

DEPLOY_DOC = REPO_ROOT / "docs" / "deploy.md"


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    # X-Forwarded-Proto is what the TLS-terminating proxy sends: production settings
    # redirect plain HTTP to HTTPS otherwise.
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https", **headers})
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, \
            response.read()


@pytest.fixture(scope="module")
def production_site(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("production")
    env = {
        "DEBUG": "0",
        "SECRET_KEY": "production-test-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{root / 'db.sqlite3'}",
        "STATIC_ROOT": str(root / "static"),
        "MEDIA_ROOT": str(root / "media"),
    }
    manage("migrate", "--noinput", env=env)
    manage("collectstatic", "--noinput", env=env)
    port = free_port()
    server = ServerProcess(port, "uvicorn (production command)")
    server._spawn([sys.executable, "-m", *production_command(port)], env=server_env(env),
                  cwd=REPO_ROOT, log_path=Path(server._tmp) / "server.log")
    try:
        server._wait_for_port(port, 60)
        yield server
    finally:
        server.stop()


def test_deploy_doc_shows_the_command_the_test_runs():
    command = shlex.join(production_command(8001))
    assert command in DEPLOY_DOC.read_text()


def test_production_worker_serves_the_widget_compressed_and_hashed(production_site):
    base = f"http://127.0.0.1:{production_site.port}"
    status, _, page = _get(base + "/")
    assert status == 200
    script = re.search(rb'<script src="([^"]+)"[^>]*data-chatwidget', page)
    css = re.search(rb'data-css="([^"]+)"', page)
    assert script and css, page[:2000]
    for path in (script.group(1).decode(), css.group(1).decode()):
        # Content-hashed names (chatwidget.<hash>.js) may be cached for good.
        assert re.search(r"\.[0-9a-f]{12}\.(js|css)$", path), path
        status, headers, body = _get(base + path, **{"Accept-Encoding": "gzip"})
        assert status == 200
        assert headers.get("content-encoding") == "gzip"
        assert "immutable" in headers.get("cache-control", "")
        assert len(gzip.decompress(body)) > len(body)
    _, headers, body = _get(base + script.group(1).decode())
    assert headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert b"chatwidget" in body


def test_production_worker_answers_the_widget_socket(production_site):
    base = f"http://127.0.0.1:{production_site.port}"
    request = urllib.request.Request(
        base + "/chatwidget/api/ping/", data=b"{}", method="POST",
        headers={"Content-Type": "application/json", "X-Forwarded-Proto": "https"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
    assert cookie.startswith("chatwidget=")
    with connect(base.replace("http", "ws") + "/ws/chatwidget/", origin="https://127.0.0.1",
                 additional_headers={"Cookie": cookie, "X-Forwarded-Proto": "https"}) as socket:
        assert json.loads(socket.recv(timeout=20))["type"] == "ready"
