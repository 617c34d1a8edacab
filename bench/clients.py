"""What every load-generator job shares: how sockets are opened and CPU is read.

The sockets are opened the same way for every server, so no server gets an advantage:
no permessage-deflate (the loadgen would pay for it too), no keepalive pings, no proxy.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from . import procstat

SATURATED = 0.9  # of one core: above this the generator, not the server, sets the pace


def log(message: str) -> None:
    print(f"    {message}", file=sys.stderr, flush=True)


class NotReady(Exception):
    """The handshake succeeded but the server closed or never said it was ready."""


async def open_socket(url: str, *, origin: str | None = None, cookie: str | None = None,
                      timeout: float = 30) -> ClientConnection:
    """A client socket as the bench uses them: no compression, no keepalive, no proxy."""
    headers = [("Cookie", cookie)] if cookie else None
    return await connect(url, origin=origin, additional_headers=headers, compression=None,
                         ping_interval=None, open_timeout=timeout, proxy=None,
                         max_size=None, user_agent_header=None)


async def wait_ready(ws: ClientConnection, ready: str, timeout: float = 30) -> None:
    """Wait for the server's ``{"type": ready}`` frame.

    The app accepts the handshake first and authenticates after (token lookup, group
    joins), so a socket is usable only once this frame arrives: the storm times both.
    """
    try:
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") == ready:
                    return
    except (ConnectionClosed, TimeoutError) as error:
        code = getattr(ws, "close_code", None)
        raise NotReady(f"no {ready!r} frame (close code {code}): {error}") from None


async def open_many(specs: list[dict[str, Any]], concurrency: int = 50) -> list[ClientConnection]:
    limit = asyncio.Semaphore(concurrency)

    async def one(spec: dict[str, Any]) -> ClientConnection:
        spec = dict(spec)
        ready = spec.pop("ready", None)
        async with limit:
            ws = await open_socket(**spec)
            if ready:
                await wait_ready(ws, ready)
            return ws

    return list(await asyncio.gather(*(one(s) for s in specs)))


async def close_all(sockets: list[Any], concurrency: int = 200) -> None:
    limit = asyncio.Semaphore(concurrency)

    async def one(ws: Any) -> None:
        async with limit:
            try:
                await asyncio.wait_for(ws.close(), 5)
            except Exception:
                pass

    await asyncio.gather(*(one(ws) for ws in sockets))


def meters(job: dict[str, Any]) -> tuple[procstat.CpuMeter, procstat.CpuMeter]:
    server = procstat.CpuMeter(job.get("server_pid"), tuple(job.get("aux_pids", ())),
                               tuple(job.get("peer_pids", ())))
    return server, procstat.CpuMeter(os.getpid())


def cpu_figures(server: procstat.CpuMeter, own: procstat.CpuMeter) -> dict[str, Any]:
    """Server, aux and loadgen CPU, and what the rest of the machine used meanwhile.

    ``other_cpu`` is the busy time of all cores minus ours: on a shared machine it says how
    much the figures were disturbed (the report warns above OTHER_BUSY).
    """
    s, o = server.read(), own.read()
    other = s["machine_cpu"] - s["cpu"] - s["aux_cpu"] - o["cpu"]
    out = {"server_cpu": s["cpu"], "aux_cpu": s["aux_cpu"], "loadgen_cpu": o["cpu"],
           "loadgen_saturated": o["cpu"] >= SATURATED, "other_cpu": round(max(other, 0), 3),
           "cpu_window_s": s["wall"]}
    if "cpu_each" in s:
        out["server_cpu_per_worker"] = s["cpu_each"]
    return out
