"""``python -m bench.http_cpu`` must keep running, answer every request 200 and say so.

No timing is asserted: the figures of a tiny run mean nothing. What must hold is that each
kind of request was served (a ping or identify that failed would be measured as cheap)
and that the table counts the database connections each request opened.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def table(*args: str) -> dict[str, list[str]]:
    process = subprocess.run([sys.executable, "-m", "bench.http_cpu", "--requests", "30", *args],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)

    assert process.returncode == 0, process.stderr[-4000:]
    return {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
            for line in process.stdout.splitlines()
            if line.startswith("| ") and not line.startswith("| request")}


def test_the_cpu_per_request_table_lists_every_kind_all_answered():
    rows = table()

    assert list(rows) == ["bare", "bare-sync", "bare-drf", "ping", "identify"]
    for kind, (cpu_ms, ratio, connections, statuses, system_ms) in rows.items():
        assert float(connections) >= 0, kind
        assert float(cpu_ms) > 0 and float(ratio) > 0, kind
        assert 0 <= float(system_ms) <= float(cpu_ms), kind
        assert statuses == "{200: 30}", (kind, statuses)
    assert rows["bare"][2] == "0.0"  # a view that reads nothing opens no connection
    # Each request runs on a new thread; the SQLite backend hands the last request's
    # connection on instead of opening one per page view (chatwidget.backends.sqlite3).
    assert rows["ping"][2] == "0.0"
    assert rows["identify"][2] == "0.0"


def test_a_visitor_with_history_can_be_measured_alone_beside_the_bare_view():
    rows = table("--kinds", "bare,ping", "--history", "20")

    assert list(rows) == ["bare", "ping"]
    assert rows["ping"][3] == "{200: 30}"


def test_requests_in_flight_together_are_all_answered():
    # P3 keeps 8 requests in flight; each runs on a thread of its own, so a ping that could
    # not share the pooled SQLite connections safely would fail here, not only be slower.
    rows = table("--kinds", "bare,ping", "--concurrency", "4")

    assert rows["ping"][3] == "{200: 30}" and rows["bare"][3] == "{200: 30}"
