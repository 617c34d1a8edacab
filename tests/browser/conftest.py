"""Browser tests: Debian's Chromium, driven by Playwright, against a live ASGI server.

They run in their own pytest run, ``.venv/bin/pytest tests/browser``: the main run
(``pytest`` / ``pytest tests``) skips this directory (see :func:`pytest_ignore_collect`),
because a real browser and server make it slow and it needs the Chromium binary.

One ASGI server process per session serves the demo project on a file-based SQLite
database in a temporary directory; every test gets fresh browser contexts (fresh cookie
jars, i.e. fresh browsers) and, where it matters, its own site user.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import services

from .helpers import RECORDER_JS, Site, agent_login

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE.parent.parent / "chatwidget" / "static"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]

# Users and widgets every test may use. Hostile strings are stored where a visitor's page
# displays them: an agent's name and a widget's name and greeting.
HOSTILE_NAME = "<img src=x onerror=\"window.__pwned='agent name'\">"
HOSTILE_WIDGET_NAME = "<img src=x onerror=\"window.__pwned='widget name'\">Help"
HOSTILE_GREETING = "<script>window.__pwned='greeting'</script> javascript:alert(1)"
SETUP_SCRIPT = f"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from chatwidget import identity
from chatwidget.models import Widget

User = get_user_model()
perm = Permission.objects.get(codename="use_inbox")
for name in ("alice", "bob", "carol", "dave"):
    User.objects.create_user(name, email=name + "@example.com", password="pw-" + name + "-123")
agent = User.objects.create_user("agent", password="pw-agent-123", is_staff=True,
                                 first_name="Ada")
agent.user_permissions.add(perm)
evil = User.objects.create_user("evil", password="pw-evil-123", is_staff=True,
                                first_name={HOSTILE_NAME!r})
evil.user_permissions.add(perm)
identity.get_widget()
Widget.objects.create(app_id="hostile", name={HOSTILE_WIDGET_NAME!r},
                      greeting={HOSTILE_GREETING!r})
"""


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Collect this directory only when the run names it (``pytest tests/browser``)."""
    invocation = config.invocation_params.dir
    for arg in config.args:
        target = (invocation / arg.split("::")[0]).resolve()
        if target == HERE or HERE in target.parents:
            return None
    return True


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    from tests.servers import manage, start_asgi_server

    tmp = Path(tempfile.mkdtemp(prefix="chatwidget-browser-"))
    db_path = tmp / "db.sqlite3"
    env = {
        "DATABASE_URL": f"sqlite:///{db_path}",
        "MEDIA_ROOT": str(tmp / "media"),
        "DEBUG": "1",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Page loads ping; a whole session from one address would trip the throttles.
        "DJANGO_SETTINGS_MODULE": "tests.settings_no_throttles",
    }
    manage("migrate", "--noinput", env=env)
    manage("shell", "-c", SETUP_SCRIPT, env=env)
    server = start_asgi_server(env=env)
    try:
        yield Site(url=server.url, db_path=db_path, server=server)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def launch_chromium() -> Iterator[object]:
    """Debian's Chromium under Playwright (never a downloaded browser), closed after use."""
    path = services.chromium_path()
    if path is None:
        services.unavailable("chromium", "no /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS,
                                             headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    yield from launch_chromium()


def serve_static(route) -> None:
    """The ASGI app serves no static files (no runserver here): serve the app's own."""
    relative = route.request.url.split("/static/", 1)[1].split("?", 1)[0]
    path = (STATIC_DIR / relative).resolve()
    if STATIC_DIR not in path.parents or not path.is_file():
        route.fulfill(status=404, body="not found")
        return
    route.fulfill(path=str(path))


@pytest.fixture
def new_context(browser, site) -> Iterator[Callable[..., object]]:
    """A factory of fresh browser contexts (separate cookie jars) with the event recorder."""
    contexts = []

    def make(*, width: int = 1280, height: int = 800, recorder: bool = True,
             app_id: str | None = None, **options):
        options.setdefault("base_url", site.url)
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        # Waits end as soon as their condition holds; the limit only bounds a failure, and
        # a loaded two-core machine can take seconds to schedule a server and a browser.
        context.set_default_timeout(20_000)
        context.route("**/static/**", serve_static)
        if app_id:
            context.add_init_script(f"window.__appId = {app_id!r};")
        if recorder:
            context.add_init_script(RECORDER_JS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def agent(browser, site) -> Iterator[object]:
    """A logged-in staff agent's context; replies go through the agent REST API."""
    context = browser.new_context(base_url=site.url)
    agent_login(context, "agent", "pw-agent-123")
    yield context
    context.close()


@pytest.fixture(scope="session")
def evil_agent(browser, site) -> Iterator[object]:
    context = browser.new_context(base_url=site.url)
    agent_login(context, "evil", "pw-evil-123")
    yield context
    context.close()


@pytest.fixture(scope="session")
def screenshots_dir() -> Path:
    path = HERE.parent / "screenshots"
    path.mkdir(exist_ok=True)
    return path
