"""``--profile``: where the server's time goes during the chat ladder, from py-spy.

py-spy samples the server from outside (no code change, no tracing overhead inside the
process) across all its threads, so the ORM's thread pool is seen as well as the event
loop. The raw output (collapsed stacks; speedscope.app and flamegraph.pl read it) is kept
next to the results, and summarised here by package and by function so the report can
say what a missed goal costs.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


class Profiler:
    """py-spy recording one process until :meth:`stop`."""

    def __init__(self, pid: int, output: Path, rate: int = 100) -> None:
        binary = py_spy()
        if binary is None:
            raise RuntimeError("py-spy is not installed (pip install py-spy)")
        self.output = output
        self.log = output.with_suffix(".log")
        with open(self.log, "wb") as log:
            # --nonblocking: never pause the server, so profiling does not move its figures.
            self.process = subprocess.Popen(
                [binary, "record", "--pid", str(pid), "--format", "raw", "--nolineno",
                 "--nonblocking", "--gil", "--rate", str(rate), "--output", str(output)],
                stdout=log, stderr=subprocess.STDOUT,
            )

    def stop(self) -> dict[str, Any]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self.output.exists():
            raise RuntimeError(f"py-spy wrote no profile:\n{self.log.read_text()[-2000:]}")
        return summarize(self.output)


# Frames every sample passes through (thread start, the event loop, daphne's main): they
# would top the inclusive list and say nothing.
_PLUMBING = re.compile(
    r"\((?:threading\.py|<frozen runpy>|asyncio/(?:base_events|events|runners)\.py|"
    r"concurrent/futures/(?:thread|_base)\.py|daphne/(?:cli|__main__|server)\.py|"
    r"twisted/internet/(?:asyncioreactor|base)\.py)\)$"
)


def _area(frame: str) -> str:
    """``func (django/db/models/query.py)`` → ``django/db``: a package-level bucket."""
    if "(" not in frame:
        return frame
    path = frame.rsplit("(", 1)[1].rstrip(")")
    parts = path.replace(os.sep, "/").split("/")
    if parts[0] in {"django", "channels", "chatwidget", "twisted", "autobahn", "asgiref",
                    "daphne", "psycopg", "redis", "channels_redis", "websockets"}:
        return "/".join(parts[:2]) if len(parts) > 2 else parts[0]
    return parts[0] if len(parts) > 1 else f"stdlib {parts[0]}"


def summarize(path: Path, top: int = 15) -> dict[str, Any]:
    """Share of active samples by package (self time) and by function (inclusive)."""
    self_time: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        leaf = frames[-1]
        self_time[leaf] += count
        areas[_area(leaf)] += count
        for frame in set(frames[1:]):  # the first frame is the thread/process name
            if not _PLUMBING.search(frame):
                inclusive[frame] += count

    def share(counter: Counter[str]) -> list[list[Any]]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(top)]

    return {"file": str(path), "samples": total, "self_by_area_pct": share(areas) if total
            else [], "self_pct": share(self_time) if total else [],
            "inclusive_pct": share(inclusive) if total else []}
