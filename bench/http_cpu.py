"""``python -m bench.http_cpu``: CPU per request of the bare view, ``ping`` and ``identify``.

P3 counts requests per second, which on a shared 2-core machine measures the neighbours
as much as the server. This drives the same ASGI application (``bench.echo_asgi``: the
site's middleware, Django's ASGI handler with its thread hops, the app) in this process,
one request at a time (``--concurrency C``: C at once, as P3's eight clients keep them)
on uvloop as the production server does, and divides the process's
CPU time (every thread's) by the number of requests: a figure another process's load
barely moves. No sockets and no HTTP parsing are involved, so it is the server-side cost
the app controls; ``--profile`` records the loop with py-spy.

    python -m bench.http_cpu                 # 2000 requests of each kind
    python -m bench.http_cpu --requests 500 --profile
    python -m bench.http_cpu --history 130   # the pinging visitor has 130 messages
    python -m bench.http_cpu --history 130 --concurrency 8   # as P3 loads the server
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ORIGIN = "http://127.0.0.1"
# bare: the async view P3 divides by; bare-sync and bare-drf: the same as a sync view and as
# a DRF APIView, which split a ping's cost into the thread hop, DRF, and the app's own work.
KINDS = ("bare", "bare-sync", "bare-drf", "ping", "identify")


def _scope(path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }


async def _request(app: Any, path: str, headers: dict[str, str], body: bytes) -> int:
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:  # Django waits for a disconnect only after the response
            await asyncio.Event().wait()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(_scope(path, {"Host": "127.0.0.1", "Content-Type": "application/json",
                            "Origin": ORIGIN, "Referer": ORIGIN + "/",
                            "Content-Length": str(len(body)), **headers}), receive, send)
    return sent[0]["status"]


def _requests(kind: str, data: dict[str, Any], n: int) -> list[tuple[str, dict, bytes]]:
    if kind == "bare":
        return [("/bench/bare/", {}, b"{}")] * n
    if kind in ("bare-sync", "bare-drf"):
        return [(f"/bench/{kind}/", {}, b"{}")] * n
    secret = secrets.token_hex(16)
    if kind == "ping":
        # A returning browser: the widget cookie, and the CSRF cookie its last ping set.
        token = data["visitors"][0]["token"]
        body = json.dumps({"app_id": data["widget"]["app_id"]}).encode()
        return [("/chatwidget/api/ping/",
                 {"Cookie": f"chatwidget={token}; csrftoken={secret}"}, body)] * n
    return [("/chatwidget/api/identify/",
             {"Cookie": f"chatwidget={i['token']}; csrftoken={secret}", "X-CSRFToken": secret},
             json.dumps({"external_id": i["external_id"], "user_hash": i["user_hash"]}).encode())
            for i in data["identities"][:n]]


async def measure(app: Any, kind: str, data: dict[str, Any], n: int,
                  concurrency: int = 1) -> dict[str, Any]:
    from django.db.backends.signals import connection_created

    requests = _requests(kind, data, n)
    for path, headers, body in requests[:20] if kind != "identify" else []:
        await _request(app, path, headers, body)  # warm-up: imports, connections
    statuses: dict[int, int] = {}
    opened: list[Any] = []

    def count(sender: Any, connection: Any, **kwargs: Any) -> None:
        opened.append(connection)

    # Under ASGI every request runs on a thread of its own, so Django's per-thread
    # connection (and CONN_MAX_AGE) does not carry over from one request to the next unless
    # the backend hands it on (chatwidget.backends.sqlite3): count the real ones opened.
    connection_created.connect(count, weak=False, dispatch_uid="bench.http_cpu")
    pooled_before = _pooled_opened()
    cpu, wall, times = time.process_time(), time.perf_counter(), os.times()
    pending = iter(requests)

    async def client() -> None:
        # P3's closed loop: each client sends its next request when the last is answered.
        for path, headers, body in pending:
            status = await _request(app, path, headers, body)
            statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(client() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    system = os.times().system - times.system
    connection_created.disconnect(dispatch_uid="bench.http_cpu")
    if pooled_before is not None:
        opened = [None] * (_pooled_opened() - pooled_before)
    return {"kind": kind, "requests": len(requests), "statuses": statuses,
            "cpu_ms_per_request": round(1000 * cpu / len(requests), 3),
            "system_ms_per_request": round(1000 * system / len(requests), 3),
            "wall_ms_per_request": round(1000 * wall / len(requests), 3),
            "connections_per_request": round(len(opened) / len(requests), 2)}


def _loop_factory() -> Any:
    """uvloop, as the production command runs (its loop makes every thread hop cheaper, so
    asyncio's would overstate the bare view against the ping); asyncio's without it."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _pooled_opened() -> int | None:
    """Connections the pooling SQLite backend really opened, or None for another backend
    (whose every ``connection_created`` is a new connection)."""
    from django.db import connections

    from chatwidget.backends.sqlite3 import base

    pooled = isinstance(connections["default"], base.DatabaseWrapper)
    return base.connections_opened() if pooled else None


def _give_history(data: dict[str, Any], count: int) -> None:
    from chatwidget.models import Message

    visitor, agent = data["visitors"][0], data["agents"][0]
    Message.objects.bulk_create(
        Message(conversation_id=visitor["conversation"], contact_id=visitor["contact"],
                sender_kind="agent" if index % 5 == 4 else "contact",
                sender_user_id=agent["user_id"] if index % 5 == 4 else None,
                body=f"message {index}", client_id=f"history-{index}")
        for index in range(count))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_cpu",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--kinds", default=",".join(KINDS),
                        help=f"which requests to measure, of {','.join(KINDS)} (bare first: "
                             "the others are divided by it)")
    parser.add_argument("--history", type=int, default=0, metavar="N",
                        help="give the pinging visitor's conversation N messages (every "
                             "fifth an agent's), as the full bench's visitors have by P3")
    parser.add_argument("--concurrency", type=int, default=1, metavar="C",
                        help="requests in flight at once (P3 keeps 8), each on its own "
                             "thread as under a server")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="record each kind with py-spy into DIR")
    args = parser.parse_args(argv)
    directory = tempfile.mkdtemp(prefix="chatwidget-http-cpu-")
    os.environ["DATABASE_URL"] = f"sqlite:///{directory}/bench.sqlite3"
    # The bench's settings whatever the caller's (a test run sets its own).
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    try:
        from . import fixtures

        fixtures._setup_django()
        data = fixtures.build({"agents": 1, "visitors": 10, "visitors_with_conversation": 10,
                               "identities": args.requests})
        _give_history(data, args.history)
        from .echo_asgi import application

        results = []
        kinds = args.kinds.split(",")
        unknown = set(kinds) - set(KINDS)
        if unknown:
            parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
        for kind in kinds:
            profiler = None
            if args.profile:
                from .profile import Profiler

                args.profile.mkdir(parents=True, exist_ok=True)
                profiler = Profiler(os.getpid(), args.profile / f"http-cpu-{kind}.txt")
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                results.append(runner.run(measure(application, kind, data, args.requests,
                                                      args.concurrency)))
            if profiler is not None:
                results[-1]["profile"] = profiler.stop()
        bare = results[0]["cpu_ms_per_request"]
        print("| request | CPU ms per request | bare ÷ this | DB connections opened per "
              "request | statuses | of which system ms |")
        print("|---|---|---|---|---|---|")
        for r in results:
            print(f"| {r['kind']} | {r['cpu_ms_per_request']:.3f} | "
                  f"{bare / r['cpu_ms_per_request']:.2f} | {r['connections_per_request']} | "
                  f"{r['statuses']} | {r['system_ms_per_request']:.3f} |")
        failed = [r["kind"] for r in results if set(r["statuses"]) != {200}]
        if failed:
            print(f"Not every request answered 200: {', '.join(failed)}", file=sys.stderr)
        if args.profile:
            (args.profile / "http-cpu.json").write_text(json.dumps(results, indent=2))
        return 1 if failed else 0
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
