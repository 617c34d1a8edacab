"""Every 5xx a server answered during the bench, with the exception behind it.

A 500 counted by the load generator says that something failed, not what: the server's
own log does. The bench settings send ``django.request`` errors (one per 500, with its
traceback) to the server's stderr, which the bench keeps in a log file; this module reads
the exceptions back out of it so the report can name them.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

# Django's django.request logger: "Internal Server Error: /chatwidget/api/ping/".
_REQUEST = re.compile(r"^(Internal Server Error|Service Unavailable|Bad Gateway|"
                      r"Gateway Timeout): (/\S*)")
# uvicorn's and daphne's own "the ASGI app raised" lines.
_ASGI = re.compile(r"Exception in ASGI application|Exception inside application")
_CHAINED = ("The above exception was the direct cause", "During handling of the above")


def server_errors(log: str) -> list[dict[str, Any]]:
    """Distinct (request, exception) pairs in a server log, most frequent first.

    A chained traceback counts once, by its last exception: the one that ended the request.
    """
    counts: Counter[tuple[str, str]] = Counter()
    request: str | None = None
    in_traceback = False
    pending: str | None = None  # a finished traceback that a chained one may still follow

    def flush() -> None:
        nonlocal pending, request
        if pending is not None:
            counts[(request or "(unknown request)", pending)] += 1
            pending = None
            request = None

    for raw in log.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith(_CHAINED):
            pending = None  # the chained traceback's own last line replaces it
            continue
        if line.startswith("Traceback (most recent call last)"):
            in_traceback = True
            continue
        if in_traceback:
            if raw.startswith((" ", "\t")):
                continue
            in_traceback = False
            pending = line[:300]
            continue
        flush()
        match = _REQUEST.match(line)
        if match:
            request = match.group(2)
        elif _ASGI.search(line):
            request = request or "(ASGI application)"
    flush()
    return [{"request": req, "exception": exc, "count": n}
            for (req, exc), n in counts.most_common()]
