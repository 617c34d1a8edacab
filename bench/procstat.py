"""Process and machine figures read straight from /proc.

The bench reports server CPU and memory from the kernel's own accounting rather than from
inside the server, so the numbers include everything the server process does (all its
threads, the ORM's thread pool included) and nothing the load generator does.
"""

from __future__ import annotations

import os
import platform
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int | str) -> list[str]:
    # The command name (field 2) may contain spaces and parentheses: split after the last ")".
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU of one process, all its threads included."""
    fields = _stat_fields(pid)
    # After the command name, utime and stime are the 12th and 13th fields (stat(5) 14, 15).
    return (int(fields[11]) + int(fields[12])) / _TICK


def tree_cpu_seconds(root: int) -> float:
    """CPU of a process and all its live descendants (PostgreSQL backends, redis threads).

    Not by session: PostgreSQL's backends call setsid() and leave the launcher's session.
    """
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat_fields(entry.name)
        except (OSError, ValueError):
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)  # stat(5) field 4: ppid
        cpu[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo.extend(children.get(pid, ()))
    return total


def machine_busy_seconds() -> float:
    """CPU time all cores spent not idle, from /proc/stat (every process, ours included)."""
    with open("/proc/stat") as handle:
        fields = handle.readline().split()[1:]
    values = [int(v) for v in fields[:8]]
    # user nice system idle iowait irq softirq steal: idle and iowait are not busy.
    return (sum(values) - values[3] - values[4]) / _TICK


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size (VmRSS) of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class CpuMeter:
    """CPU used by a set of processes over a wall-clock window, as a fraction of one core."""

    pid: int | None = None
    aux: tuple[int, ...] = ()
    # The other worker processes of the same site: their CPU is the server's too.
    peers: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        self.restart()

    def _read(self) -> tuple[float, tuple[float, ...], float, float]:
        own = tuple(cpu_seconds(pid) for pid in (self.pid, *self.peers) if pid)
        aux = sum(tree_cpu_seconds(pid) for pid in self.aux)
        return time.monotonic(), own, aux, machine_busy_seconds()

    def restart(self) -> None:
        self._start = self._read()

    def read(self) -> dict[str, Any]:
        """In cores (1.0 = one): ``cpu`` the process(es), ``aux_cpu`` the aux trees,
        ``machine_cpu`` every core's busy time, whoever used it; with peers, ``cpu_each``
        splits ``cpu`` by worker."""
        t1, own1, aux1, busy1 = self._read()
        t0, own0, aux0, busy0 = self._start
        wall = max(t1 - t0, 1e-9)
        each = [round((b - a) / wall, 3) for a, b in zip(own0, own1, strict=True)]
        out: dict[str, Any] = {
            "cpu": round((sum(own1) - sum(own0)) / wall, 3),
            "aux_cpu": round((aux1 - aux0) / wall, 3),
            "machine_cpu": round((busy1 - busy0) / wall, 3), "wall": round(wall, 3)}
        if self.peers:
            out["cpu_each"] = each
        return out


def raise_fd_limit() -> int:
    """Lift the soft open-files limit to the hard one; 2000 sockets need more than 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else 1 << 20
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft


def machine() -> dict[str, object]:
    """Where the figures came from: they mean little without it."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpu_model": model or platform.processor(),
        "cores_online": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
