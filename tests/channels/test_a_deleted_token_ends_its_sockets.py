"""A widget token deleted from the database (an admin clean-up, an erasure whose push to
the sockets was lost with the channel layer) ends its open tabs at the next periodic
re-check, passive tabs included: the socket never outlives the row it stands on."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from chatwidget.consumers.base import CloseCode
from chatwidget.models import WidgetToken

from . import sockets
from .sockets import closed_with

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_tab_whose_token_row_is_gone_is_closed_at_the_next_recheck(browser, clock):
    tab = await sockets.visitor(browser.raw)
    await asyncio.wait_for(clock.sleeping(), sockets.TIMEOUT)

    await sync_to_async(WidgetToken.objects.filter(pk=browser.token.pk).delete)()
    await clock.advance(30)

    assert await closed_with(tab) == CloseCode.UNAUTHENTICATED
