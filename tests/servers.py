"""Real servers for the tests that need them: the ASGI site, redis-server, PostgreSQL.

Used by the scale-out tests, the browser tests and the benchmarks. Every server runs as a
child process on a free port of 127.0.0.1 and is stopped by ``stop()`` (or on leaving its
``with`` block, or at interpreter exit as a last resort), so a failing test never leaves
one behind. A missing binary goes through :func:`tests.services.unavailable`: a skip with
the reason, or a failure under ``CHATWIDGET_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.services import postgres_bin_dir, redis_server_path, unavailable

REPO_ROOT = Path(__file__).resolve().parent.parent

_live: weakref.WeakSet[_Process] = weakref.WeakSet()


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it, so parallel runs don't collide)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return text[-limit:]


class _Process:
    """A child process whose output goes to a log file (a full pipe would block it)."""

    name = "process"

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    def _spawn(self, argv: Sequence[str], *, env: dict[str, str] | None, cwd: str | Path,
               log_path: Path, user: str | None = None) -> None:
        if user is not None:
            argv = ["runuser", "-u", user, "--", *argv]
        self.log_path = log_path
        with open(log_path, "ab") as log:
            # Own session: stop() signals the whole group, children included.
            self.proc = subprocess.Popen(
                list(argv), cwd=str(cwd), env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        _live.add(self)

    def _wait_for_port(self, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode} before listening on "
                    f"{port}:\n{self.log()}"
                )
            if port_open(port):
                return
            time.sleep(0.05)
        self._terminate()
        raise RuntimeError(f"{self.name} did not listen on {port} within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        """The tail of the process's stdout+stderr, for error messages."""
        return _tail(self.log_path) if self.log_path else ""

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _terminate(self, timeout: float = 10) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(5)
        _live.discard(self)

    def stop(self) -> None:
        self._terminate()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@atexit.register
def _stop_leftovers() -> None:
    for process in list(_live):
        try:
            process.stop()
        except Exception:  # exiting anyway; never mask the real error
            pass


# ---------------------------------------------------------------- ASGI site


class ServerProcess(_Process):
    """``project.asgi:application`` served by daphne (or uvicorn) in a child process."""

    def __init__(self, port: int, server: str) -> None:
        super().__init__()
        self.port = port
        self.name = f"{server} on {port}"
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"
        self._tmp = tempfile.mkdtemp(prefix="chatwidget-asgi-")

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self._tmp, ignore_errors=True)


def server_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a child Django process runs with: ours, the demo settings, ``env``."""
    merged = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings",
              "PYTHONUNBUFFERED": "1"}
    # pytest-xdist's marker changes the demo settings (CONN_MAX_AGE); servers are not workers.
    merged.pop("PYTEST_XDIST_WORKER", None)
    merged.update(env or {})
    return merged


def production_command(port: int, host: str = "127.0.0.1") -> list[str]:
    """The production server command docs/deploy.md documents (a test keeps them equal).

    uvicorn on uvloop and httptools: on the bench it serves 2-3x what daphne does (bench/
    README.md). ``--lifespan off`` because Channels' router has no lifespan support;
    ``--proxy-headers`` so X-Forwarded-Proto from the local proxy marks requests secure.
    ``--ws websockets-sansio``: uvicorn's websockets implementation on the sans-I/O core,
    with less memory and CPU per socket than the legacy ``websockets`` one (deprecated in
    uvicorn 0.54; figures in bench/README.md's storm section).
    """
    return ["uvicorn", "project.asgi:application", "--host", host, "--port", str(port),
            "--loop", "uvloop", "--http", "httptools", "--ws", "websockets-sansio",
            "--lifespan", "off", "--proxy-headers", "--no-access-log"]


def start_asgi_server(
    port: int | None = None,
    env: dict[str, str] | None = None,
    *,
    cwd: str | Path = REPO_ROOT,
    server: str = "daphne",
    timeout: float = 60,
) -> ServerProcess:
    """Serve the demo site on ``port`` (HTTP and websockets) until ``stop()``.

    ``env`` is merged over ``os.environ`` (e.g. ``DATABASE_URL``, ``REDIS_URL``); the
    database must already be migrated (:func:`manage`). ``server`` is ``"daphne"`` (the
    default, what ``runserver`` uses with channels) or ``"uvicorn"`` (the production command).
    """
    port = port or free_port()
    process = ServerProcess(port, server)
    if server == "daphne":
        argv = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                "project.asgi:application"]
    elif server == "uvicorn":
        argv = [sys.executable, "-m", *production_command(port)]
    else:
        raise ValueError(f"unknown ASGI server {server!r}")
    process._spawn(argv, env=server_env(env), cwd=cwd,
                   log_path=Path(process._tmp) / "server.log")
    try:
        process._wait_for_port(port, timeout)
    except BaseException:
        process.stop()
        raise
    return process


def manage(*args: str, env: dict[str, str] | None = None, cwd: str | Path = REPO_ROOT,
           timeout: float = 300, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py`` against the same settings a server gets; raise with its output."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=str(cwd), env=server_env(env),
        capture_output=True, text=True, timeout=timeout, input=input,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


# ---------------------------------------------------------------- redis-server


class RedisServer(_Process):
    """A throwaway redis-server; ``stop()`` then ``start()`` restarts it on the same port."""

    def __init__(self, binary: str, port: int) -> None:
        super().__init__()
        self.binary = binary
        self.port = port
        self.name = f"redis-server on {port}"
        self.url = f"redis://127.0.0.1:{port}/0"
        self.dir = tempfile.mkdtemp(prefix="chatwidget-redis-")

    def start(self, timeout: float = 20) -> RedisServer:
        if self.running:
            return self
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", self.dir,
                "--daemonize", "no", "--protected-mode", "no"]
        self._spawn(argv, env=None, cwd=self.dir, log_path=Path(self.dir) / "redis.log")
        self._wait_for_port(self.port, timeout)
        return self

    def stop(self) -> None:
        """Stop the server and keep its port and directory, so ``start()`` can restart it."""
        self._terminate()

    def close(self) -> None:
        self._terminate()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_redis(port: int | None = None) -> RedisServer:
    binary = redis_server_path()
    if binary is None:
        unavailable("redis-server", "not found in PATH (apt-get install redis-server)")
    server = RedisServer(binary, port or free_port())
    try:
        return server.start()
    except BaseException:
        server.close()
        raise


# ---------------------------------------------------------------- PostgreSQL


class PostgresServer(_Process):
    """A throwaway PostgreSQL cluster with one database; ``stop()`` removes it."""

    def __init__(self, bin_dir: str, port: int, dbname: str, user: str,
                 max_connections: int = 100) -> None:
        super().__init__()
        self.bin_dir = bin_dir
        self.max_connections = max_connections
        self.port = port
        self.dbname = dbname
        self.user = user
        self.name = f"postgres on {port}"
        self.url = f"postgres://{user}@127.0.0.1:{port}/{dbname}"
        self.dir = tempfile.mkdtemp(prefix="chatwidget-pg-")
        # PostgreSQL refuses to run as root: run it as the packaged `postgres` user then.
        self.os_user = "postgres" if os.geteuid() == 0 else None
        if self.os_user is not None:
            shutil.chown(self.dir, user=self.os_user)

    def _run(self, *argv: str) -> None:
        command = [os.path.join(self.bin_dir, argv[0]), *argv[1:]]
        if self.os_user is not None:
            command = ["runuser", "-u", self.os_user, "--", *command]
        result = subprocess.run(command, cwd=self.dir, capture_output=True, text=True,
                                timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({result.returncode}):\n"
                               f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")

    def start(self, timeout: float = 60) -> PostgresServer:
        data = os.path.join(self.dir, "data")
        if not os.path.exists(data):
            self._run("initdb", "-D", data, "-U", self.user, "--auth=trust", "-E", "UTF8",
                      "--no-sync", "--no-instructions")
        # Durability is irrelevant for a throwaway cluster; speed and a small footprint
        # matter on a shared machine.
        argv = [os.path.join(self.bin_dir, "postgres"), "-D", data, "-p", str(self.port),
                "-k", self.dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                "-c", "shared_buffers=32MB",
                "-c", f"max_connections={self.max_connections}"]
        self._spawn(argv, env=None, cwd=self.dir, log_path=Path(self.dir) / "postgres.log",
                    user=self.os_user)
        self._wait_for_port(self.port, timeout)
        self._create_database(timeout)
        return self

    def _create_database(self, timeout: float) -> None:
        # The port opens before the server accepts logins: retry briefly.
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
                          "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c",
                          f'CREATE DATABASE "{self.dbname}"')
                return
            except RuntimeError as error:
                if "already exists" in str(error):
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{error}\n{self.log()}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        """Stop the server (SIGTERM: PostgreSQL's "smart" shutdown) and delete the cluster."""
        if self.proc is not None and self.proc.poll() is None:
            # "fast" shutdown: don't wait for the test's pooled connections to close.
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
                self.proc.wait(20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self._terminate()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_postgres(dbname: str = "chatwidget", user: str = "chatwidget", *,
                   max_connections: int = 100) -> PostgresServer:
    """A fresh cluster; a low ``max_connections`` shows who holds more connections than
    the deployment budgets (``user`` is its superuser, so the reserved slots count too)."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        unavailable("PostgreSQL", "initdb not found (apt-get install postgresql)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        unavailable("PostgreSQL", "running as root and runuser is missing")
    server = PostgresServer(bin_dir, free_port(), dbname, user, max_connections)
    try:
        return server.start()
    except BaseException:
        server.stop()
        raise
