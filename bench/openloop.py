"""The open-loop engine of P1: send on a schedule, whatever the server does.

A closed loop (send, wait for the answer, send again) slows down with the server and so
hides its queueing delay. Here message *i* is due at ``start + i / rate``; it carries that
scheduled time in its body, and its latency at each receiver is ``receive − scheduled``.
If the generator falls behind, the lag shows in the latency instead of vanishing.

Every message is checked against what was sent, per receiving socket: delivered, lost
(expected but never arrived), duplicated (the same clientId twice) and out of order (a
conversation's message arriving after a later one of the same conversation).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .hist import Latency

WARMUP = -1  # bucket of the messages sent while warming up: delivered, never reported


@dataclass(eq=False)
class Receiver:
    """One socket that must get certain messages: an agent, a second tab, an echo socket."""

    kind: str
    # Which server process the socket is on (0 with one worker): a delivery between two
    # workers crossed the channel layer's Redis, and is also counted under "routes".
    worker: int = 0
    seen: set[str] = field(default_factory=set)
    last_seq: dict[int, int] = field(default_factory=dict)
    # Between a ``resync`` and its ``resume.done``: the replay repeats what the socket
    # already has, and the SDK drops those by id, so they are not duplicates.
    resuming: bool = False
    # A resync that came while a replay was under way: where the next one must start.
    resume_again_after: int | None = None


@dataclass(eq=False)
class Sender:
    """One socket messages are sent from; ``stream`` orders them (a conversation)."""

    ws: Any
    stream: int
    receivers: tuple[Receiver, ...]
    seq: int = 0
    worker: int = 0


@dataclass
class Outgoing:
    stream: int
    seq: int
    scheduled_ns: int
    bucket: int
    receivers: tuple[Receiver, ...]
    acked: bool = False
    worker: int = 0


class KindStats:
    def __init__(self) -> None:
        self.expected = 0
        self.delivered = 0
        self.duplicated = 0
        self.out_of_order = 0
        self.latency = Latency()

    def summary(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "delivered": self.delivered,
            "lost": self.expected - self.delivered,
            "duplicated": self.duplicated,
            "out_of_order": self.out_of_order,
            "latency_ms": self.latency.summary(),
        }


class Bucket:
    """Everything sent in one step, and what became of it."""

    def __init__(self) -> None:
        self.sent = 0
        self.send_errors = 0
        self.acked = 0
        self.ack_latency = Latency()
        self.id_inversions = 0
        self.max_send_lag_ns = 0
        self.kinds: dict[str, KindStats] = {}
        # The same deliveries again, by whether they stayed on the sender's worker.
        self.routes: dict[str, KindStats] = {}

    def kind(self, name: str) -> KindStats:
        stats = self.kinds.get(name)
        if stats is None:
            stats = self.kinds[name] = KindStats()
        return stats

    def route(self, name: str) -> KindStats:
        stats = self.routes.get(name)
        if stats is None:
            stats = self.routes[name] = KindStats()
        return stats

    def complete(self) -> bool:
        return all(s.delivered >= s.expected for s in self.kinds.values())

    def summary(self) -> dict[str, Any]:
        out = {
            "sent": self.sent,
            "send_errors": self.send_errors,
            "acked": self.acked,
            "ack_latency_ms": self.ack_latency.summary(),
            "ack_id_inversions": self.id_inversions,
            "max_send_lag_ms": round(self.max_send_lag_ns / 1e6, 3),
            "receivers": {name: stats.summary() for name, stats in sorted(self.kinds.items())},
        }
        if self.routes:
            out["routes"] = {name: stats.summary() for name, stats in sorted(self.routes.items())}
        return out


class OpenLoop:
    """Schedules sends across ``senders`` round-robin and accounts for every delivery.

    ``encode(sender, client_id, body)`` builds the frame; the caller's socket readers call
    :meth:`delivered` and :meth:`acked` as frames arrive.
    """

    def __init__(self, senders: list[Sender], encode: Callable[[Sender, str, str], str],
                 tag: str, expects_ack: bool, workers: int = 1) -> None:
        self.senders = senders
        # With several server processes, deliveries are also counted by route.
        self.by_route = workers > 1
        self.encode = encode
        self.tag = tag
        self.expects_ack = expects_ack
        self.outgoing: dict[str, Outgoing] = {}
        self.buckets: dict[int, Bucket] = {WARMUP: Bucket()}
        self.foreign = 0
        self.frames_received = 0  # every delivery frame, repeats and strays included
        self._counter = 0
        self._last_ack: dict[int, tuple[int, int]] = {}

    # ------------------------------------------------------------ sending

    async def run(self, rate: float, warmup: float, duration: float, bucket: int,
                  on_measure: Callable[[], None] | None = None) -> None:
        """Send at ``rate`` for ``warmup + duration`` seconds; only the latter counts."""
        self.buckets.setdefault(bucket, Bucket())
        interval = 1e9 / rate
        start = time.perf_counter_ns() + 2_000_000
        measure_from = start + int(warmup * 1e9)
        total = round(rate * (warmup + duration))
        measuring = False
        i = 0
        while i < total:
            now = time.perf_counter_ns()
            due = start + int(i * interval)
            if due > now:
                await asyncio.sleep((due - now) / 1e9)
                continue
            while i < total and due <= now:
                if not measuring and due >= measure_from:
                    measuring = True
                    if on_measure is not None:
                        on_measure()
                target = bucket if due >= measure_from else WARMUP
                await self._send(due, target, now - due)
                i += 1
                due = start + int(i * interval)

    async def _send(self, scheduled_ns: int, bucket_index: int, lag_ns: int) -> None:
        sender = self.senders[self._counter % len(self.senders)]
        self._counter += 1
        sender.seq += 1
        client_id = f"{self.tag}-{self._counter}"
        body = f"bench {client_id} {scheduled_ns}"
        bucket = self.buckets[bucket_index]
        bucket.max_send_lag_ns = max(bucket.max_send_lag_ns, lag_ns)
        self.outgoing[client_id] = Outgoing(sender.stream, sender.seq, scheduled_ns,
                                            bucket_index, sender.receivers,
                                            worker=sender.worker)
        try:
            await sender.ws.send(self.encode(sender, client_id, body))
        except Exception:
            bucket.send_errors += 1
            del self.outgoing[client_id]
            return
        bucket.sent += 1
        for receiver in sender.receivers:
            for stats in self._stats(bucket, receiver, sender.worker):
                stats.expected += 1

    def _stats(self, bucket: Bucket, receiver: Receiver, worker: int) -> list[KindStats]:
        """Where one delivery is counted: by receiver kind, and by route between workers."""
        stats = [bucket.kind(receiver.kind)]
        if self.by_route:
            same = receiver.worker == worker
            stats.append(bucket.route("same worker" if same else "other worker"))
        return stats

    # ------------------------------------------------------------ receiving

    def delivered(self, receiver: Receiver, client_id: str | None, body: str | None,
                  now_ns: int) -> None:
        self.frames_received += 1
        out = self.outgoing.get(client_id or "")
        if out is None:
            self.foreign += 1
            return
        counted = self._stats(self.buckets[out.bucket], receiver, out.worker)
        if client_id in receiver.seen:
            if not receiver.resuming:
                for stats in counted:
                    stats.duplicated += 1
            return
        receiver.seen.add(client_id)
        # The latency is taken from the time the message itself carries.
        try:
            scheduled_ns = int((body or "").rsplit(" ", 1)[1])
        except (IndexError, ValueError):
            scheduled_ns = out.scheduled_ns
        last = receiver.last_seq.get(out.stream, 0)
        for stats in counted:
            stats.delivered += 1
            stats.latency.record_ns(now_ns - scheduled_ns)
            if out.seq < last:
                stats.out_of_order += 1
        if out.seq >= last:
            receiver.last_seq[out.stream] = out.seq

    def acked(self, client_id: str | None, server_id: int | None, now_ns: int) -> None:
        out = self.outgoing.get(client_id or "")
        if out is None or out.acked:
            return
        out.acked = True
        bucket = self.buckets[out.bucket]
        bucket.acked += 1
        bucket.ack_latency.record_ns(now_ns - out.scheduled_ns)
        if server_id is not None:
            last_seq, last_id = self._last_ack.get(out.stream, (0, 0))
            if out.seq > last_seq:
                if server_id <= last_id:
                    bucket.id_inversions += 1
                self._last_ack[out.stream] = (out.seq, server_id)

    async def drain(self, bucket_index: int, timeout: float) -> float:
        """Wait until the step's messages all arrived (or ``timeout``); returns the wait."""
        bucket = self.buckets[bucket_index]
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            acks_done = not self.expects_ack or bucket.acked >= bucket.sent
            if bucket.complete() and acks_done:
                break
            await asyncio.sleep(0.02)
        return round(time.monotonic() - started, 3)

    async def settle(self, max_wait: float, quiet: float) -> float:
        """After the last step: wait for stragglers until nothing arrives for ``quiet`` s.

        An overloaded server still works through its backlog after the generator stops;
        what arrives now was late, not lost. Only what never arrives is lost. A receiver
        that resumes after a resync first gets back much it already holds: that is the
        server still working, so any delivery frame counts as activity, and no receiver
        may still be resuming.
        """
        started = time.monotonic()
        last_count, last_change = self.frames_received, started
        receivers = {id(r): r for s in self.senders for r in s.receivers}.values()
        while time.monotonic() - started < max_wait:
            if all(b.complete() for b in self.buckets.values()):
                break
            await asyncio.sleep(0.1)
            if self.frames_received != last_count:
                last_count, last_change = self.frames_received, time.monotonic()
            elif (time.monotonic() - last_change > quiet
                  and not any(r.resuming for r in receivers)):
                break
        return round(time.monotonic() - started, 3)


def score(scored: dict[str, Any], bucket: Bucket) -> dict[str, Any]:
    """A step's final figures: on time (by its scoring), late, and lost (never arrived).

    ``delivered + late + lost == expected`` for every receiver kind. Latency percentiles
    include the late arrivals, so they never look better than what receivers saw.
    """
    final = bucket.summary()
    for group in ("receivers", "routes"):
        for kind, stats in final.get(group, {}).items():
            on_time = scored.get(group, {}).get(kind, {}).get("delivered", 0)
            stats["late"] = stats["delivered"] - on_time
            stats["delivered"] = on_time
            stats["lost"] = stats["expected"] - on_time - stats["late"]
    return {**scored, **final}


def echo_frame(sender: Sender, client_id: str, body: str) -> str:
    """The echo servers get the very frame a visitor sends, so sizes and parsing match."""
    return json.dumps({"type": "message.send", "conversationId": sender.stream,
                       "body": body, "clientId": client_id})
