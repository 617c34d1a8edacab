"""``python -m bench.msgcost``: the server's CPU time per chat message, in one process.

The P1 ladder measures latency and capacity, which need a quiet machine. This measures
what one visitor message costs the server in CPU seconds (``time.process_time``: every
thread of the process, the database thread included, and nothing else's), so a change of
the message path can be compared on a shared, busy machine. The app runs in process,
served through Channels' ``WebsocketCommunicator`` (the real ASGI application, consumers,
channel layer and database; no network, no ASGI server), and the message path is the
ladder's: visitor sockets send ``message.send`` into their own conversations, every
message reaches the agent sockets, the contact's tabs and the sender's own socket.

    python -m bench.msgcost                       # 200 visitors, 20 second tabs, 4 agents
    python -m bench.msgcost --agents 20           # agents at scale
    py-spy record -o profile.txt --format raw -- python -m bench.msgcost   # where it goes

Messages go in waves (one per visitor, ``--wave`` at a time) and the next wave waits for
every delivery of the last, so no queue overflows and nothing is measured twice. The
figure includes the harness's own side of the frames (a queue put and get per frame),
which is the same for every version of the app: compare figures, do not read them as a
server's absolute cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ORIGIN = b"http://127.0.0.1"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.msgcost",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--tabs", type=int, default=20, help="visitors with a second tab")
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--wave", type=int, default=50, help="messages in flight at once")
    return parser.parse_args(argv)


class Socket:
    """One communicator and a reader counting the frames it receives, by type."""

    def __init__(self, communicator: Any) -> None:
        self.communicator = communicator
        self.created = 0
        self.frames = 0
        self.changed = asyncio.Event()
        self.reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        connected, code = await self.communicator.connect(timeout=30)
        if not connected:
            raise RuntimeError(f"socket refused ({code})")
        ready = await self.communicator.receive_output(timeout=30)
        if '"ready"' not in ready.get("text", "").replace(" ", ""):
            raise RuntimeError(f"no ready frame: {ready}")
        self.reader = asyncio.ensure_future(self.read())

    async def read(self) -> None:
        while True:
            output = await self.communicator.receive_output(timeout=3600)
            text = output.get("text") or ""
            self.frames += 1
            if "message.created" in text:
                self.created += 1
            self.changed.set()


async def wait_for(sockets: list[Socket], expected: list[int]) -> None:
    for socket, count in zip(sockets, expected, strict=True):
        while socket.created < count:
            socket.changed.clear()
            await asyncio.wait_for(socket.changed.wait(), 60)


async def measure(args: argparse.Namespace, data: dict[str, Any]) -> dict[str, Any]:
    from channels.testing import WebsocketCommunicator

    from project.asgi import application

    def communicator(path: str, cookie: str) -> Any:
        return WebsocketCommunicator(application, path,
                                     headers=[(b"origin", ORIGIN), (b"cookie", cookie.encode())])

    visitors = data["visitors"][: args.visitors]
    tabs = visitors[: args.tabs]
    primary = [Socket(communicator("/ws/chatwidget/", f"chatwidget={v['token']}"))
               for v in visitors]
    second = [Socket(communicator("/ws/chatwidget/", f"chatwidget={v['token']}")) for v in tabs]
    agents = [Socket(communicator("/ws/chatwidget/agent/", f"sessionid={a['session']}"))
              for a in data["agents"]]
    everyone = primary + second + agents
    for socket in everyone:
        await socket.open()
    await asyncio.sleep(0.5)  # the agents' presence events settle before measuring

    expected = [0] * len(everyone)
    frames_before = sum(s.frames for s in everyone)
    cpu, wall = time.process_time(), time.perf_counter()
    sent = 0
    while sent < args.messages:
        wave = min(args.wave, args.messages - sent, len(primary))
        for n in range(wave):
            index = (sent + n) % len(primary)
            await primary[index].communicator.send_to(text_data=json.dumps({
                "type": "message.send", "conversationId": visitors[index]["conversation"],
                "body": f"message {sent + n}", "clientId": f"m-{sent + n}"}))
            expected[index] += 1  # the sender's own copy
            if index < len(second):
                expected[len(primary) + index] += 1
            for a in range(len(agents)):
                expected[len(primary) + len(second) + a] += 1
        sent += wave
        await wait_for(everyone, expected)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    frames = sum(s.frames for s in everyone) - frames_before
    for socket in everyone:
        if socket.reader is not None:
            socket.reader.cancel()
        await socket.communicator.disconnect()
    return {"messages": sent, "visitors": len(primary), "second_tabs": len(second),
            "agents": len(agents), "cpu_ms_per_message": round(1000 * cpu / sent, 3),
            "frames_per_message": round(frames / sent, 2),
            "messages_per_cpu_second": round(sent / cpu, 1), "wall_s": round(wall, 2)}


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    root = Path(__file__).resolve().parent.parent
    os.chdir(root)
    sys.path.insert(0, str(root))
    directory = tempfile.mkdtemp(prefix="chatwidget-msgcost-")
    os.environ["DATABASE_URL"] = f"sqlite:///{directory}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    try:
        import django

        django.setup()
        from bench.fixtures import build

        data = build({"agents": args.agents, "visitors": args.visitors,
                      "visitors_with_conversation": args.visitors, "identities": 0})
        result = asyncio.run(measure(args, data))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
