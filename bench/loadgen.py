"""The load generator: one process, pinned to its own core, running one job at a time.

``python -m bench.loadgen JOB.json RESULT.json``. The orchestrator starts it per job so a
job's sockets and memory never leak into the next one, and so its CPU can be read from
/proc/self/stat: a generator that saturates its own core measures itself, not the server,
and the report flags it.

Jobs: ``pingpong`` and ``closed_loop`` (P0), ``openloop_echo`` and ``chat`` (P1),
``storm`` (P2), ``http`` (P3).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from typing import Any

from websockets.asyncio.client import ClientConnection

from . import procstat
from .chatload import chat
from .clients import (
    NotReady,
    close_all,
    cpu_figures,
    meters,
    open_many,
    open_socket,
    wait_ready,
)
from .hist import Latency
from .httpclient import HttpConnection
from .openloop import OpenLoop, Receiver, Sender, echo_frame, score

# ---------------------------------------------------------------- P0


async def pingpong(job: dict[str, Any]) -> dict[str, Any]:
    """One socket, one message in flight: the round trip with no queueing at all."""
    ws = await open_socket(job["url"], origin=job.get("origin"))
    latency = Latency()
    frame = echo_frame(Sender(None, 1, ()), "pp", "bench ping")
    deadline = time.monotonic() + job["warmup"]
    while time.monotonic() < deadline:
        await ws.send(frame)
        await ws.recv()
    server, own = meters(job)
    deadline = time.monotonic() + job["duration"]
    while time.monotonic() < deadline:
        t = time.perf_counter_ns()
        await ws.send(frame)
        await ws.recv()
        latency.record_ns(time.perf_counter_ns() - t)
    result = {"rtt_ms": latency.summary(), **cpu_figures(server, own)}
    await ws.close()
    return result


async def closed_loop(job: dict[str, Any]) -> dict[str, Any]:
    """N sockets each echoing as fast as the server answers: the server's echo capacity."""
    sockets = await open_many([{"url": job["url"], "origin": job.get("origin")}
                               for _ in range(job["connections"])])
    frame = echo_frame(Sender(None, 1, ()), "cl", "bench closed loop")
    latency = Latency()
    counts = [0]
    measuring = [False]
    stop = [False]

    async def loop(ws: ClientConnection) -> None:
        while not stop[0]:
            t = time.perf_counter_ns()
            await ws.send(frame)
            await ws.recv()
            if measuring[0]:
                latency.record_ns(time.perf_counter_ns() - t)
                counts[0] += 1

    tasks = [asyncio.create_task(loop(ws)) for ws in sockets]
    await asyncio.sleep(job["warmup"])
    server, own = meters(job)
    measuring[0] = True
    started = time.monotonic()
    await asyncio.sleep(job["duration"])
    measuring[0] = False
    elapsed = time.monotonic() - started
    cpu = cpu_figures(server, own)
    stop[0] = True
    await asyncio.wait(tasks, timeout=5)
    await close_all(sockets)
    return {"connections": len(sockets), "echoes": counts[0],
            "rate": round(counts[0] / elapsed, 1), "rtt_ms": latency.summary(), **cpu}


# ---------------------------------------------------------------- P1


async def _read_echo(ws: ClientConnection, receiver: Receiver, engine: OpenLoop) -> None:
    async for raw in ws:
        now = time.perf_counter_ns()
        data = json.loads(raw)
        engine.delivered(receiver, data.get("clientId"), data.get("body"), now)


async def openloop_echo(job: dict[str, Any]) -> dict[str, Any]:
    """The P1 schedule against an echo server: the baseline R2 subtracts."""
    sockets = await open_many([{"url": job["url"], "origin": job.get("origin")}
                               for _ in range(job["connections"])])
    senders = []
    readers = []
    engine = OpenLoop(senders, echo_frame, job.get("tag", "echo"), expects_ack=False)
    for index, ws in enumerate(sockets):
        receiver = Receiver("echo")
        senders.append(Sender(ws, index + 1, (receiver,)))
        readers.append(asyncio.create_task(_read_echo(ws, receiver, engine)))
    server, own = meters(job)
    await engine.run(job["rate"], job["warmup"], job["duration"], 0,
                     on_measure=lambda: (server.restart(), own.restart()))
    cpu = cpu_figures(server, own)
    drain = await engine.drain(0, job["drain"])
    step = {"rate": job["rate"], "duration": job["duration"], "drain_s": drain,
            **engine.buckets[0].summary(), **cpu}
    await engine.settle(job.get("settle_max", 10), job.get("settle_quiet", 2))
    step = score(step, engine.buckets[0])
    await close_all(sockets)
    for task in readers:
        task.cancel()
    return {"connections": len(sockets), "step": step}


# Sockets opened and closed before a storm; few enough that the memory they leave free
# for the storm's sockets to reuse is noise (1 % of 2000).
WARM_SOCKETS = 20


async def storm(job: dict[str, Any]) -> dict[str, Any]:
    """Open ``n`` sockets, ``concurrency`` handshaking at once, hold them, measure memory."""
    pid = job["server_pid"]
    cookies = job.get("cookies") or [None] * job["n"]
    # A few sockets first, closed again: what the first connection sets up once (imports,
    # the database connection, caches) is not a per-socket cost. A run that had a chat
    # ladder before was warm already; this makes ``--only-storm`` measure the same thing.
    warm = await open_many([{"url": job["url"], "origin": job.get("origin"), "cookie": cookie,
                             "ready": job.get("ready")} for cookie in cookies[: WARM_SOCKETS]])
    await close_all(warm)
    await asyncio.sleep(job.get("settle", 0.5))
    rss_before = procstat.rss_bytes(pid)
    handshake = Latency()
    ready = Latency()
    failures: Counter[str] = Counter()
    examples: dict[str, str] = {}
    sockets: list[ClientConnection] = []  # every socket opened, closed at the end
    usable: list[ClientConnection] = []  # ... of which the server said ready
    limit = asyncio.Semaphore(job["concurrency"])

    async def one(cookie: str | None) -> None:
        async with limit:
            t = time.perf_counter_ns()
            try:
                ws = await open_socket(job["url"], origin=job.get("origin"), cookie=cookie,
                                       timeout=job.get("timeout", 30))
            except Exception as error:
                name = type(error).__name__
                failures[name] += 1
                examples.setdefault(name, str(error)[:200])
                return
            handshake.record_ns(time.perf_counter_ns() - t)
            sockets.append(ws)
            if job.get("ready"):
                try:
                    await wait_ready(ws, job["ready"], job.get("timeout", 30))
                except NotReady as error:
                    failures["NotReady"] += 1
                    examples.setdefault("NotReady", str(error)[:200])
                    return
                ready.record_ns(time.perf_counter_ns() - t)
            usable.append(ws)

    server, own = meters(job)
    started = time.monotonic()
    await asyncio.gather(*(one(cookie) for cookie in cookies[: job["n"]]))
    elapsed = time.monotonic() - started
    connect_cpu = cpu_figures(server, own)
    await asyncio.sleep(job.get("settle", 0.5))
    server.restart()
    await asyncio.sleep(job["idle"])
    idle = server.read()
    rss_after = procstat.rss_bytes(pid)
    dropped = sum(1 for ws in usable if ws.close_code is not None)
    await close_all(sockets)
    opened = len(usable)
    return {
        "sockets": job["n"], "concurrency": job["concurrency"], "opened": opened,
        "failures": sum(failures.values()), "failure_kinds": dict(failures),
        "failure_examples": examples, "dropped_while_idle": dropped,
        "seconds": round(elapsed, 3), "connections_per_s": round(opened / elapsed, 1),
        "handshake_ms": handshake.summary(),
        # S0 has no ready frame: its sockets are usable once the handshake is done.
        "ready_ms": ready.summary() if job.get("ready") else handshake.summary(),
        "rss_before_mb": round(rss_before / 2**20, 1), "rss_after_mb": round(rss_after / 2**20, 1),
        "kb_per_socket": round((rss_after - rss_before) / max(opened, 1) / 1024, 2),
        "idle_server_cpu": idle["cpu"], "idle_aux_cpu": idle["aux_cpu"],
        **{f"connect_{k}": v for k, v in connect_cpu.items()},
    }


# ---------------------------------------------------------------- P3


def _http_request(job: dict[str, Any], worker: int, pool: list[dict[str, Any]]
                  ) -> tuple[str, dict[str, str], bytes] | None:
    headers = {"Content-Type": "application/json", "Origin": job["origin"],
               "Referer": job["origin"] + "/"}
    kind = job["kind"]
    if kind == "bare":
        return "/bench/bare/", headers, b"{}"
    if kind == "ping":
        token = job["tokens"][worker % len(job["tokens"])]
        headers["Cookie"] = f"{job['cookie_name']}={token}"
        if job.get("csrf_secret"):
            # A returning browser: its earlier page views' pings set the CSRF cookie.
            headers["Cookie"] += f"; {job['csrf_cookie_name']}={job['csrf_secret']}"
        return job["path"], headers, json.dumps({"app_id": job.get("app_id")}).encode()
    if kind == "identify":
        if not pool:
            return None
        identity = pool.pop()
        # As the SDK does after ping: the CSRF cookie and the same secret in the header.
        headers["Cookie"] = (f"{job['cookie_name']}={identity['token']}; "
                             f"{job['csrf_cookie_name']}={job['csrf_secret']}")
        headers["X-CSRFToken"] = job["csrf_secret"]
        body = {"external_id": identity["external_id"], "user_hash": identity["user_hash"]}
        return job["path"], headers, json.dumps(body).encode()
    raise ValueError(f"unknown http kind {kind!r}")


async def http(job: dict[str, Any]) -> dict[str, Any]:
    """Closed-loop requests from ``concurrency`` keep-alive connections."""
    pool = list(job.get("identities", []))
    latency = Latency()
    statuses: Counter[int] = Counter()
    by_port: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    sample: dict[str, Any] = {}
    measuring = [False]
    stop = [False]
    exhausted_at: list[float] = []

    async def worker(index: int) -> None:
        # Connections spread over the workers' ports, as a proxy in front of them would.
        ports = job.get("ports") or [job["port"]]
        conn = HttpConnection(job["host"], ports[index % len(ports)], job.get("host_header"))
        while not stop[0]:
            request = _http_request(job, index, pool)
            if request is None:
                exhausted_at.append(time.monotonic())
                break
            path, headers, body = request
            t = time.perf_counter_ns()
            try:
                response = await conn.request("POST", path, headers, body)
            except Exception as error:
                errors[type(error).__name__] += 1
                await conn.close()
                continue
            if measuring[0]:
                latency.record_ns(time.perf_counter_ns() - t)
                statuses[response.status] += 1
                by_port[conn.port] += 1
            if not sample or (response.status >= 400 and "error" not in sample):
                sample.update({"status": response.status, "body": response.body[:300].decode(
                    "utf-8", "replace")})
                if response.status >= 400:
                    sample["error"] = True
        await conn.close()

    tasks = [asyncio.create_task(worker(i)) for i in range(job["concurrency"])]
    await asyncio.sleep(job["warmup"])
    server, own = meters(job)
    measuring[0] = True
    started = time.monotonic()
    await asyncio.wait(tasks, timeout=job["duration"])
    # An identify pool that ran dry ends the measurement early: rate over the time it lasted.
    elapsed = max((min(exhausted_at) if exhausted_at else time.monotonic()) - started, 1e-3)
    measuring[0] = False
    cpu = cpu_figures(server, own)
    stop[0] = True
    await asyncio.wait(tasks, timeout=10)
    ok = sum(n for status, n in statuses.items() if status < 400)
    return {
        "kind": job["kind"], "concurrency": job["concurrency"], "seconds": round(elapsed, 3),
        "requests": sum(statuses.values()), "ok": ok, "rps": round(ok / elapsed, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "requests_by_port": {str(k): v for k, v in sorted(by_port.items())},
        "errors": dict(errors), "pool_exhausted": bool(exhausted_at),
        "latency_ms": latency.summary(),
        "sample_response": sample, **cpu,
    }


# ---------------------------------------------------------------- entry point


JOBS = {"pingpong": pingpong, "closed_loop": closed_loop, "openloop_echo": openloop_echo,
        "chat": chat, "storm": storm, "http": http}


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit("usage: python -m bench.loadgen JOB.json RESULT.json")
    with open(argv[0]) as handle:
        job = json.load(handle)
    if job.get("cores"):
        os.sched_setaffinity(0, set(job["cores"]))
    procstat.raise_fd_limit()
    result = asyncio.run(JOBS[job["job"]](job))
    result["loadgen_cores"] = sorted(os.sched_getaffinity(0))
    with open(argv[1], "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main(sys.argv[1:])
