"""The demo as README promises it: demo_setup's accounts, and Quick start's two commands."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from chatwidget.adapter import get_adapter
from chatwidget.models import Widget
from project.management.commands.demo_setup import DEMO_AGENT, DEMO_USER

ROOT = Path(__file__).resolve().parent.parent


def demo_setup(*args: str) -> str:
    out = io.StringIO()
    call_command("demo_setup", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


@pytest.mark.django_db
def test_demo_setup_prints_working_credentials_for_a_visitor_and_an_agent(debug) -> None:
    output = demo_setup()
    User = get_user_model()
    for username, password, *_ in (DEMO_USER, DEMO_AGENT):
        assert f"{username} / {password}" in output
        assert User.objects.get(username=username).check_password(password)
    visitor = User.objects.get(username=DEMO_USER[0])
    agent = User.objects.get(username=DEMO_AGENT[0])
    assert not visitor.is_staff and not get_adapter().is_agent(visitor)
    assert agent.is_staff and not agent.is_superuser
    assert get_adapter().is_agent(agent)
    assert agent.has_perm("chatwidget.view_conversation")


@pytest.mark.django_db
def test_demo_agent_can_open_the_chat_admin_and_the_visitor_cannot(debug, client) -> None:
    demo_setup()
    url = "/admin/chatwidget/conversation/"
    assert client.login(username=DEMO_AGENT[0], password=DEMO_AGENT[1])
    assert client.get(url).status_code == 200
    client.logout()
    assert client.login(username=DEMO_USER[0], password=DEMO_USER[1])
    assert client.get(url).status_code == 302  # to the admin login: not staff


@pytest.mark.django_db
def test_demo_setup_is_idempotent_and_restores_the_passwords(debug) -> None:
    demo_setup()
    User = get_user_model()
    agent = User.objects.get(username=DEMO_AGENT[0])
    agent.set_password("changed-by-someone")
    agent.save()
    demo_setup()
    assert User.objects.filter(username__in=[DEMO_USER[0], DEMO_AGENT[0]]).count() == 2
    assert User.objects.get(username=DEMO_AGENT[0]).check_password(DEMO_AGENT[1])


@pytest.mark.django_db
def test_demo_setup_ensures_the_default_widget(debug) -> None:
    Widget.objects.all().delete()
    output = demo_setup()
    assert Widget.objects.filter(app_id="default").exists()
    assert "'default'" in output


@pytest.mark.django_db
def test_demo_setup_refuses_published_passwords_in_production(settings) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is False"):
        demo_setup()
    assert not get_user_model().objects.filter(username=DEMO_AGENT[0]).exists()
    demo_setup("--force")
    assert get_user_model().objects.filter(username=DEMO_AGENT[0]).exists()


# ---------------------------------------------------------------- README and CI


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", section, re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_quick_start_is_exactly_two_commands() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2, commands
    serve, test = commands
    assert "demo_setup" in serve and "runserver" in serve
    assert "runtests.py" in test and "[test]" in test


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = quick_start_commands()[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci.splitlines()


def test_ci_makes_missing_services_failures_and_downloads_no_browser() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci
    assert "CHATWIDGET_REQUIRE_SERVICES=1" in ci
    for package in ("chromium", "redis-server", "postgresql"):
        assert package in ci
    assert "playwright install" not in ci
