"""Clients act on close codes by number (the SDK, and any client written from
docs/protocol.md): each code the server closes with is the number documented for it,
and no two reasons share one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async

from chatwidget import identity
from chatwidget.consumers.base import CloseCode

from . import sockets
from .sockets import closed_with, receive

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def documented_codes() -> list[int]:
    table = PROTOCOL.read_text().split("## Close codes", 1)[1].split("\n## ", 1)[0]
    return [int(code) for code in re.findall(r"^\| (\d{4}) \|", table, re.MULTILINE)]


def test_every_close_code_is_a_documented_number_of_its_own():
    values = [member.value for member in CloseCode.__members__.values()]

    assert len(values) == len(set(values)), "two close reasons share a number"
    assert sorted(values) == sorted(set(documented_codes()) - {1000})


@pytest.mark.django_db(transaction=True)
async def test_a_logged_out_tab_is_closed_with_4001_and_a_switched_one_with_4002(
    browser, other_browser, user
):
    leaving = await sockets.visitor(browser.raw)
    switching = await sockets.visitor(other_browser.raw)

    await sync_to_async(identity.logout)(browser.token)
    await sync_to_async(identity.login_user)(other_browser.token, user, None)

    assert await receive(leaving) == {"type": "logout"}
    assert await closed_with(leaving) == 4001
    assert (await receive(switching))["type"] == "login"
    assert await closed_with(switching) == 4002
