"""P1's chat ladder against the app's real path: visitor socket → persist → agents + tabs.

Each visitor socket sends ``message.send`` into its own conversation; the server stores
the message, acknowledges it, and fans ``message.created`` out to the contact's group
(every tab) and the widget's agents group. A message is expected once at every agent
socket and once at the sender's second tab when it has one; the sending socket's own
copy is not counted (the ack already measures that leg).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

from websockets.asyncio.client import ClientConnection

from .clients import close_all, cpu_figures, log, meters, open_many
from .openloop import WARMUP, OpenLoop, Receiver, Sender, score

CREATED = "message.created"
ACK = "message.ack"


def _send_frame(sender: Sender, client_id: str, body: str) -> str:
    return json.dumps({"type": "message.send", "conversationId": sender.stream,
                       "body": body, "clientId": client_id})


class Frames:
    """Counts what else the server sends (unread counts, errors) for the report."""

    def __init__(self) -> None:
        self.types: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.error_example: dict[str, Any] | None = None

    def note(self, data: dict[str, Any]) -> None:
        kind = data.get("type", "?")
        self.types[kind] += 1
        if kind == "error":
            error = data.get("error") if isinstance(data.get("error"), dict) else data
            self.errors[str(error.get("type") or error.get("code") or "?")] += 1
            if self.error_example is None:
                self.error_example = data


async def _read(ws: ClientConnection, engine: OpenLoop, frames: Frames,
                receiver: Receiver | None, is_sender: bool) -> None:
    """One socket's reader: deliveries for receivers, acks for the sending socket."""
    try:
        async for raw in ws:
            now = time.perf_counter_ns()
            data = json.loads(raw)
            kind = data.get("type")
            frames.note(data)
            if kind == CREATED and receiver is not None:
                message = data.get("message") or {}
                engine.delivered(receiver, message.get("clientId"), message.get("body"), now)
            elif kind == "resync" and receiver is not None:
                # The server's layer dropped deliveries to this socket: resume as the SDK
                # does, so what the replay brings counts as late, and only what never
                # arrives as lost. One replay at a time: a resync during one is taken up
                # when it ends (a new replay per resync would multiply under overload).
                after = data.get("after") or 0
                if receiver.resuming:
                    pending = receiver.resume_again_after
                    receiver.resume_again_after = after if pending is None else min(pending,
                                                                                    after)
                else:
                    receiver.resuming = True
                    await ws.send(json.dumps({"type": "resume", "after": after}))
            elif kind == "resume.done" and receiver is not None:
                again, receiver.resume_again_after = receiver.resume_again_after, None
                if again is not None and again < data["lastId"]:
                    await ws.send(json.dumps({"type": "resume", "after": again}))
                elif data.get("more") or again is not None:
                    await ws.send(json.dumps({"type": "resume", "after": data["lastId"]}))
                else:
                    receiver.resuming = False
            elif kind == ACK and is_sender:
                message = data.get("message") or {}
                engine.acked(data.get("clientId") or message.get("clientId"),
                             message.get("id"), now)
    except Exception:  # a closed socket shows up as lost messages, which is the point
        return


def _step_verdict(step: dict[str, Any], job: dict[str, Any]) -> tuple[bool, str]:
    agents = step["receivers"].get("agent", {})
    tabs = step["receivers"].get("tab", {})
    expected = agents.get("expected", 0) + tabs.get("expected", 0)
    delivered = agents.get("delivered", 0) + tabs.get("delivered", 0)
    ratio = delivered / expected if expected else 0.0
    step["delivery_ratio"] = round(ratio, 4)
    p99 = (agents.get("latency_ms") or {}).get("p99")
    if ratio < job["delivery_min"]:
        return False, f"delivery {ratio:.1%} < {job['delivery_min']:.0%}"
    if p99 is None or p99 > job["p99_limit_ms"]:
        return False, f"p99 {p99} ms > {job['p99_limit_ms']} ms"
    return True, ""


async def chat(job: dict[str, Any]) -> dict[str, Any]:
    origin = job["origin"]
    visitors = job["visitors"]
    cookie = job["cookie_name"]
    every = max(1, len(visitors) // max(job["tabs"], 1)) if job["tabs"] else 0
    with_tab = [i for i in range(len(visitors)) if every and i % every == 0][: job["tabs"]]

    # Several workers: the sockets are spread over them as a proxy would, and each second
    # tab is on another worker than its first, so the contact's group spans workers too.
    visitor_urls, agent_urls = job["visitor_urls"], job["agent_urls"]
    workers = len(visitor_urls)
    visitor_worker = [i % workers for i in range(len(visitors))]
    tab_worker = {i: (i + 1) % workers for i in with_tab}
    agent_worker = [a % workers for a in range(len(job["agents"]))]
    specs = [{"url": visitor_urls[visitor_worker[i]], "origin": origin, "ready": "ready",
              "cookie": f"{cookie}={v['token']}"} for i, v in enumerate(visitors)]
    specs += [{"url": visitor_urls[tab_worker[i]], "origin": origin, "ready": "ready",
               "cookie": f"{cookie}={visitors[i]['token']}"} for i in with_tab]
    specs += [{"url": agent_urls[agent_worker[n]], "origin": origin, "ready": "ready",
               "cookie": f"{job['session_cookie_name']}={a['session']}"}
              for n, a in enumerate(job["agents"])]
    started = time.monotonic()
    sockets = await open_many(specs)
    log(f"{len(sockets)} sockets open in {time.monotonic() - started:.1f}s")
    primary = sockets[: len(visitors)]
    tabs = sockets[len(visitors): len(visitors) + len(with_tab)]
    agent_sockets = sockets[len(visitors) + len(with_tab):]

    agent_receivers = tuple(Receiver("agent", worker=agent_worker[n])
                            for n in range(len(agent_sockets)))
    tab_receivers = {i: Receiver("tab", worker=tab_worker[i]) for i in with_tab}
    senders = [
        Sender(ws, v["conversation"],
               agent_receivers + ((tab_receivers[i],) if i in tab_receivers else ()),
               worker=visitor_worker[i])
        for i, (ws, v) in enumerate(zip(primary, visitors, strict=True))
    ]
    engine = OpenLoop(senders, _send_frame, job.get("tag", "chat"), expects_ack=True,
                      workers=workers)
    frames = Frames()
    readers = [asyncio.create_task(_read(ws, engine, frames, None, True)) for ws in primary]
    readers += [asyncio.create_task(_read(ws, engine, frames, tab_receivers[i], False))
                for ws, i in zip(tabs, with_tab, strict=True)]
    readers += [asyncio.create_task(_read(ws, engine, frames, r, False))
                for ws, r in zip(agent_sockets, agent_receivers, strict=True)]
    await asyncio.sleep(job.get("settle", 0.2))

    steps = []
    stopped_because = ""
    for index, rate in enumerate(job["rates"]):
        server, own = meters(job)
        await engine.run(rate, job["warmup"], job["duration"], index,
                         on_measure=lambda s=server, o=own: (s.restart(), o.restart()))
        cpu = cpu_figures(server, own)
        drain = await engine.drain(index, job["drain"])
        step = {"rate": rate, "duration": job["duration"], "drain_s": drain,
                **engine.buckets[index].summary(), **cpu}
        agents = step["receivers"].get("agent", {})
        step["delivered_per_s"] = round(
            agents.get("delivered", 0) / max(len(agent_sockets), 1) / job["duration"], 1)
        ok, why = _step_verdict(step, job)
        step["sustained"] = ok
        steps.append(step)
        lat = agents.get("latency_ms") or {}
        log(f"{rate:>5} msg/s: agents p50 {lat.get('p50')} p99 {lat.get('p99')} ms, "
            f"delivery {step['delivery_ratio']:.1%}, server cpu {cpu['server_cpu']:.2f}, "
            f"loadgen cpu {cpu['loadgen_cpu']:.2f}")
        if not ok:
            stopped_because = f"{rate} msg/s: {why}"
            break

    # Let an overloaded server work through its backlog before the sockets close, so that
    # what arrives late is counted as late and only what never arrives as lost.
    settled = await engine.settle(job.get("settle_max", 60), job.get("settle_quiet", 5))
    steps = [score(step, engine.buckets[index]) for index, step in enumerate(steps)]
    await close_all(sockets)
    for task in readers:
        task.cancel()
    return {
        "workers": workers,
        "visitors": len(primary), "second_tabs": len(tabs), "agents": len(agent_sockets),
        "steps": steps, "stopped_because": stopped_because,
        "warmup_totals": engine.buckets[WARMUP].summary(),
        "settle_s": settled, "foreign_frames": engine.foreign,
        "frame_types": dict(frames.types), "errors": dict(frames.errors),
        "error_example": frames.error_example,
    }
