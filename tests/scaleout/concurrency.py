"""Firing real requests at live workers all at once, and counting what they left behind."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.servers import manage


def all_at_once(calls: Sequence[Callable[[], Any]]) -> list:
    """Run the calls on threads released together by a barrier; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def counts(site: dict, *queries: str) -> list[int]:
    """Evaluate counts over ``chatwidget.models`` in the site's database (one process)."""
    script = f"from chatwidget.models import *; print('COUNT', {', '.join(queries)})"
    output = manage("shell", "-c", script, env=site["env"]).stdout
    return [int(value) for value in output.split("COUNT", 1)[1].split()[:len(queries)]]


def count(site: dict, query: str) -> int:
    return counts(site, query)[0]


def workers(servers: Sequence[Any], n: int) -> list:
    """``n`` servers taken in turn: the requests spread over every worker."""
    return [servers[i % len(servers)] for i in range(n)]


def user_hash(site: dict, external_id: str) -> str:
    """What the site's backend signs an external id with (the default widget's secret)."""
    script = ("from chatwidget import identity; "
              "print('SECRET', identity.get_widget().identity_secret)")
    output = manage("shell", "-c", script, env=site["env"]).stdout
    secret = output.split("SECRET", 1)[1].split()[0]
    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()
