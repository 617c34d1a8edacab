"""The servers under test: S0 (raw ``websockets`` echo) and the ASGI process (S1 + S2).

Child-process hygiene (own session, log file, stop on exit) comes from tests/servers.py.
Its ``start_asgi_server`` always serves ``project.asgi:application`` with the server's
default flags, which does not fit here: the bench serves ``bench.echo_asgi:application``
(S1's echo consumer in front of the site), pins the server to its own core, turns the
per-request access log off and gives every server the same listen backlog. So this module
builds the command line itself and reuses the rest.

``python -m bench.servers echo PORT`` runs S0.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.servers import REPO_ROOT, ServerProcess, free_port, production_command, server_env

# A storm opens 200 connections at once; a short accept queue would turn that into SYN
# retransmits (1 s each) and measure the kernel, not the server. Same value for all.
BACKLOG = 1024

ASGI_APP = "bench.echo_asgi:application"
PRODUCTION_APP = "project.asgi:application"
# bench.echo_asgi.ECHO_PATH; not imported from there because importing it sets Django up.
ECHO_PATH = "/ws/bench/echo/"


@contextlib.contextmanager
def pinned(cores: set[int] | None) -> Iterator[None]:
    """Run the block (a fork) with this process pinned, so the child inherits the mask.

    Pinning the child after it started would miss the threads it already has.
    """
    if not cores:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


class BenchServer(ServerProcess):
    """One server process under test, with the pid the CPU and RSS figures are read from."""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, argv: list[str], env: dict[str, str] | None, cores: set[int] | None,
              timeout: float = 60) -> BenchServer:
        return self.launch(argv, env, cores).ready(timeout)

    def launch(self, argv: list[str], env: dict[str, str] | None, cores: set[int] | None
               ) -> BenchServer:
        with pinned(cores):
            self._spawn(argv, env=env, cwd=REPO_ROOT, log_path=Path(self._tmp) / "server.log")
        return self

    def ready(self, timeout: float = 60) -> BenchServer:
        """Wait until it listens; a server that never does is stopped."""
        try:
            self._wait_for_port(self.port, timeout)
        except BaseException:
            self.stop()
            raise
        return self


def start_echo_server(cores: set[int] | None) -> BenchServer:
    """S0: the fastest a Python websocket server goes here, the floor for every ratio."""
    port = free_port()
    server = BenchServer(port, "websockets-echo")
    argv = [sys.executable, "-m", "bench.servers", "echo", str(port)]
    return server.start(argv, server_env(), cores)


def launch_site_server(env: dict[str, str], cores: set[int] | None,
                       asgi_server: str = "uvicorn") -> BenchServer:
    """One process of the ASGI server the app is deployed with, serving S1 and S2; started,
    not yet waited for.

    S1 and S2 share the process on purpose: with the in-memory channel layer a group only
    reaches sockets of its own process.
    """
    port = free_port()
    server = BenchServer(port, asgi_server)
    if asgi_server == "daphne":
        argv = [sys.executable, "-m", "daphne", "-v", "0",
                "-e", f"tcp:port={port}:interface=127.0.0.1:backlog={BACKLOG}", ASGI_APP]
    elif asgi_server == "uvicorn":
        # The production command (docs/deploy.md), serving the bench's app; the load
        # generator negotiates no compression, so none is offered.
        argv = [sys.executable, "-m", *production_command(port)]
        argv[argv.index(PRODUCTION_APP)] = ASGI_APP
        argv += ["--backlog", str(BACKLOG), "--log-level", "warning",
                 "--ws-per-message-deflate", "false"]
    else:
        raise ValueError(f"unknown ASGI server {asgi_server!r}")
    full_env = server_env({"DJANGO_SETTINGS_MODULE": "bench.settings", **env})
    return server.launch(argv, full_env, cores)


class Site:
    """The app's worker processes, each on its own port, as docs/deploy.md runs them.

    With one worker it is the single process S1 and S2 share. With several, the load
    generator spreads its sockets and requests across the ports, as a proxy in front of
    them would, and every event between workers goes through the Redis layer.
    """

    def __init__(self, workers: list[BenchServer]) -> None:
        self.workers = workers

    @property
    def first(self) -> BenchServer:
        return self.workers[0]

    @property
    def pid(self) -> int:
        return self.first.pid

    @property
    def pids(self) -> list[int]:
        return [worker.pid for worker in self.workers]

    @property
    def url(self) -> str:
        # The page's origin: behind a proxy every worker sees the same one.
        return self.first.url

    @property
    def ws_url(self) -> str:
        return self.first.ws_url

    @property
    def ws_urls(self) -> list[str]:
        return [worker.ws_url for worker in self.workers]

    @property
    def ports(self) -> list[int]:
        return [worker.port for worker in self.workers]

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


def start_site(env: dict[str, str], cores: set[int] | None, asgi_server: str = "uvicorn",
               workers: int = 1) -> Site:
    """``workers`` processes of the site, all pinned to ``cores`` (the server's share),
    started together."""
    started: list[BenchServer] = []
    try:
        for _ in range(workers):
            started.append(launch_site_server(env, cores, asgi_server))
        for worker in started:
            worker.ready()
    except BaseException:
        Site(started).stop()
        raise
    return Site(started)


def temp_sqlite_url() -> tuple[str, str]:
    """A fresh SQLite file for one configuration; returns (DATABASE_URL, directory)."""
    directory = tempfile.mkdtemp(prefix="chatwidget-bench-")
    return f"sqlite:///{directory}/bench.sqlite3", directory


# ---------------------------------------------------------------- S0 itself


async def _echo(websocket) -> None:
    async for message in websocket:
        await websocket.send(message)


async def _serve_echo(port: int) -> None:
    from websockets.asyncio.server import serve

    # No compression and no keepalive pings: the loadgen negotiates neither anywhere.
    async with serve(_echo, "127.0.0.1", port, compression=None, ping_interval=None,
                     backlog=BACKLOG) as server:
        await server.serve_forever()


def main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[0] != "echo":
        raise SystemExit("usage: python -m bench.servers echo PORT")
    asyncio.run(_serve_echo(int(argv[1])))


if __name__ == "__main__":
    main(sys.argv[1:])
