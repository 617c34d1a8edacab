"""The run: which servers, which phases, in which order, with which sizes.

The orchestrator (this process) only starts things and collects results; every
measurement is made by a load-generator process pinned to its own core, against a server
pinned to another. S0 figures are taken once per run (they do not depend on the app's
configuration); S1, S2 and HTTP are measured in every configuration, so each ratio
compares servers that ran under the same settings on the same machine minutes apart.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import procstat, serverlog, servers, widget
from .servers import ECHO_PATH, Site

VISITOR_PATH = "/ws/chatwidget/"
AGENT_PATH = "/ws/chatwidget/agent/"
PING_PATH = "/chatwidget/api/ping/"
IDENTIFY_PATH = "/chatwidget/api/identify/"


@dataclass
class Plan:
    """Sizes of every phase. ``full`` is the issue's spec; ``quick`` only proves it runs."""

    name: str = "full"
    warmup: float = 0.5
    pingpong_s: float = 1.5
    closed_loop_connections: int = 32
    closed_loop_s: float = 2.0
    visitors: int = 200
    second_tabs: int = 20
    agents: int = 4
    rates: list[int] = field(default_factory=lambda: [100, 250, 500, 750, 1000])
    step_s: float = 10.0
    # Shortened from "a warm-up" to fit 5 minutes; each step's schedule runs on without a
    # gap, so the warm-up only has to absorb the rate change.
    step_warmup: float = 1.5
    drain_s: float = 3.0
    p99_limit_ms: float = 250.0
    delivery_min: float = 0.95
    baseline_rate: int = 250
    baseline_s: float = 4.0
    storm_sockets: int = 2000
    storm_concurrency: int = 200
    storm_idle_s: float = 2.0
    http_concurrency: int = 8
    http_s: float = 4.0
    identities: int = 2500


QUICK = Plan(
    name="quick", warmup=0.2, pingpong_s=0.5, closed_loop_connections=4, closed_loop_s=0.5,
    visitors=10, second_tabs=2, agents=2, rates=[20, 40], step_s=1.0, step_warmup=0.3,
    drain_s=2.0, baseline_rate=20, baseline_s=1.0, storm_sockets=40, storm_concurrency=10,
    storm_idle_s=0.3, http_concurrency=2, http_s=0.5, identities=300,
)


@dataclass
class Config:
    """One way of deploying the app: which database and which channel layer."""

    name: str
    redis: bool = False
    postgres: bool = False
    # Worker processes of the site (docs/deploy.md: one port each, behind a proxy). More
    # than one needs the Redis layer: the in-memory one never leaves its process.
    workers: int = 1
    # CHATWIDGET["DATABASE_THREADS"] for the servers; None keeps the app's default.
    database_threads: int | None = None

    @property
    def label(self) -> str:
        database = "PostgreSQL" if self.postgres else "SQLite"
        layer = "Redis pub/sub" if self.redis else "in-memory"
        extra = f", {self.workers} worker processes" if self.workers > 1 else ""
        if self.database_threads is not None:
            extra += f", DATABASE_THREADS={self.database_threads}"
        return f"{self.name} ({database}, {layer} layer{extra})"


class Run:
    def __init__(self, plan: Plan, configs: list[Config], asgi_server: str = "uvicorn",
                 profile_dir: Path | None = None, log_dir: Path | None = None,
                 only_http: bool = False, chat_only: bool = False,
                 only_storm: bool = False) -> None:
        self.plan = plan
        # P3 alone (with its fixtures): a short run for work on ping and identify.
        self.only_http = only_http
        # Only the chat ladder (no S0, S1, storm, HTTP or widget): a short targeted run.
        self.chat_only = chat_only
        # P2 alone (S0, S1 and S2 storms): the short loop when working on the connect path.
        self.only_storm = only_storm
        self.profile_dir = profile_dir
        self.log_dir = log_dir
        self.configs = configs
        self.asgi_server = asgi_server
        self.errors: list[dict[str, str]] = []
        self.tag = f"r{int(time.time()) % 100000}"
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) >= 2:
            self.server_cores: set[int] | None = {cores[0]}
            self.loadgen_cores: list[int] | None = [cores[1]]
        else:
            self.server_cores, self.loadgen_cores = None, None
        self.tmp = tempfile.mkdtemp(prefix="chatwidget-bench-run-")

    # ------------------------------------------------------------ plumbing

    def say(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    def job(self, job: dict[str, Any], timeout: float = 600) -> dict[str, Any]:
        """Run one load-generator job in its own pinned process; its log goes to stderr."""
        job = {**job, "cores": self.loadgen_cores}
        fd, job_path = tempfile.mkstemp(suffix=".json", dir=self.tmp)
        result_path = job_path.replace(".json", ".result.json")
        with os.fdopen(fd, "w") as handle:
            json.dump(job, handle)
        tail: deque[str] = deque(maxlen=40)
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.loadgen", job_path, result_path],
            cwd=str(servers.REPO_ROOT), stderr=subprocess.PIPE, text=True,
        )
        assert process.stderr is not None
        # A hung generator must not hang the run: kill it after ``timeout``.
        watchdog = threading.Timer(timeout, process.kill)
        watchdog.start()
        try:
            for line in process.stderr:
                tail.append(line)
                if line.startswith("    "):
                    self.say(line.rstrip())
        finally:
            watchdog.cancel()
        if process.wait() != 0:
            raise RuntimeError(f"loadgen {job['job']} failed:\n{''.join(tail)}")
        with open(result_path) as handle:
            return json.load(handle)

    def quiesce(self, pid: int, threshold: float = 0.05, window: float = 0.3,
                timeout: float = 90, peers: tuple[int, ...] = ()) -> float:
        """Wait until the server (every worker) is idle, so one phase's backlog never lands
        in the next.

        An overloaded ladder step leaves the server working through queued messages for
        many seconds after the generator stopped; a storm measured then would be wrong.
        """
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            meter = procstat.CpuMeter(pid, peers=peers)
            time.sleep(window)
            if meter.read()["cpu"] < threshold:
                break
        waited = time.monotonic() - started
        if waited > 2 * window + 0.5:
            self.say(f"  (waited {waited:.1f}s for the server to go idle)")
        return round(waited, 2)

    def measured(self, where: str, name: str, pid: int, job: dict[str, Any]) -> Any:
        """A load-generator phase against an idle server."""
        if self.only_storm and "storm" not in job["job"]:
            return None

        def body() -> dict[str, Any]:
            waited = self.quiesce(pid, peers=tuple(job.get("peer_pids", ())))
            return {**self.job(job), "idle_wait_s": waited}

        return self.phase(where, name, body)

    def phase(self, where: str, name: str, body: Callable[[], Any]) -> Any:
        """Run one phase; a failure is recorded and reported, and the run goes on."""
        self.say(f"  {name} ...")
        started = time.monotonic()
        try:
            result = body()
        except Exception as error:
            message = str(error).strip().splitlines()
            self.errors.append({"where": where, "phase": name,
                                "error": "\n".join(message[-12:]) or type(error).__name__,
                                "traceback": traceback.format_exc()[-3000:]})
            self.say(f"  {name} FAILED: {message[-1] if message else type(error).__name__}")
            return None
        self.say(f"  {name} done in {time.monotonic() - started:.1f}s")
        return result

    # ------------------------------------------------------------ S0 reference

    def reference(self) -> dict[str, Any]:
        """S0 alone: ping-pong, closed-loop rate, open-loop baseline, storm."""
        p = self.plan
        self.say("S0 raw websockets echo server")
        out: dict[str, Any] = {}
        with servers.start_echo_server(self.server_cores) as s0:
            url = f"{s0.ws_url}/"
            base = {"url": url, "server_pid": s0.pid, "warmup": p.warmup}
            out["pingpong"] = self.measured("S0", "P0 ping-pong", s0.pid,
                {**base, "job": "pingpong", "duration": p.pingpong_s})
            out["closed_loop"] = self.measured("S0", "P0 closed loop", s0.pid,
                {**base, "job": "closed_loop", "connections": p.closed_loop_connections,
                 "duration": p.closed_loop_s})
            out["openloop"] = self.measured("S0", "P1 open-loop baseline", s0.pid,
                {**base, "job": "openloop_echo", "connections": p.visitors,
                 "rate": p.baseline_rate, "duration": p.baseline_s, "warmup": p.step_warmup,
                 "drain": p.drain_s, "tag": f"{self.tag}-s0"})
            out["storm"] = self.measured("S0", "P2 storm", s0.pid, {**base, **self.storm()})
        return out

    def storm(self) -> dict[str, Any]:
        """The one storm every server gets: same socket count, concurrency and generator."""
        p = self.plan
        return {"job": "storm", "n": p.storm_sockets, "concurrency": p.storm_concurrency,
                "idle": p.storm_idle_s}

    # ------------------------------------------------------------ one configuration

    def _environment(self, config: Config, stack: list[Callable[[], Any]]
                     ) -> tuple[dict[str, str], tuple[int, ...]]:
        from tests.servers import start_postgres, start_redis
        from tests.services import postgres_bin_dir, redis_server_path

        env: dict[str, str] = {}
        aux: list[int] = []
        if config.postgres:
            if os.environ.get("DATABASE_URL"):
                env["DATABASE_URL"] = os.environ["DATABASE_URL"]
            else:
                if postgres_bin_dir() is None:
                    raise RuntimeError("PostgreSQL binaries not found (initdb)")
                pg = start_postgres(dbname=f"bench_{self.tag}")
                stack.append(pg.stop)
                env["DATABASE_URL"] = pg.url
                aux.append(pg.proc.pid)
        else:
            url, directory = servers.temp_sqlite_url()
            stack.append(lambda: shutil.rmtree(directory, ignore_errors=True))
            env["DATABASE_URL"] = url
        if config.database_threads is not None:
            env["BENCH_DATABASE_THREADS"] = str(config.database_threads)
        if config.redis:
            if redis_server_path() is None:
                raise RuntimeError("redis-server not found in PATH")
            redis = start_redis()
            stack.append(redis.close)
            env["REDIS_URL"] = redis.url
            aux.append(redis.proc.pid)
        return env, tuple(aux)

    def _fixtures(self, env: dict[str, str], widget_html: bool) -> dict[str, Any]:
        p = self.plan
        spec = {"agents": p.agents, "visitors": max(p.storm_sockets, p.visitors),
                "visitors_with_conversation": p.visitors, "identities": p.identities,
                "run_tag": self.tag, "widget_html": widget_html}
        spec_path = os.path.join(self.tmp, "fixtures-spec.json")
        out_path = os.path.join(self.tmp, "fixtures.json")
        with open(spec_path, "w") as handle:
            json.dump(spec, handle)
        result = subprocess.run(
            [sys.executable, "-m", "bench.fixtures", spec_path, out_path],
            cwd=str(servers.REPO_ROOT),
            env=servers.server_env({"DJANGO_SETTINGS_MODULE": "bench.settings", **env}),
            capture_output=True, text=True, timeout=600,
        )
        if result.returncode != 0:
            raise RuntimeError(f"fixtures failed:\n{result.stderr[-3000:]}")
        with open(out_path) as handle:
            return json.load(handle)

    def configuration(self, config: Config, widget_html: bool) -> dict[str, Any]:
        self.say(f"{config.label}")
        stack: list[Callable[[], Any]] = []
        out: dict[str, Any] = {"label": config.label, "workers": config.workers}
        try:
            env, aux = self.phase(config.name, "start services",
                                  lambda: self._environment(config, stack)) or (None, ())
            if env is None:
                return out
            data = self.phase(config.name, "setup (migrate, visitors, agents)",
                              lambda: self._fixtures(env, widget_html))
            if data is None:
                return out
            out["setup_s"] = data["timings"]
            out["widget_html"] = data.get("widget_html")
            site = self.phase(config.name, f"start {self.asgi_server}", lambda: (
                servers.start_site(env, self.server_cores, self.asgi_server,
                                   config.workers)))
            if site is None:
                return out
            stack.append(site.stop)
            try:
                out.update(self.measure_site(config, site, aux, data))
            finally:
                out.update(self.server_log(config, site))
        finally:
            for item in reversed(stack):
                try:
                    item()
                except Exception as error:  # cleanup must not hide the results
                    self.say(f"  cleanup: {error}")
        return out

    def measure_site(self, config: Config, site: Site, aux: tuple,
                     data: dict[str, Any]) -> dict[str, Any]:
        p = self.plan
        origin = site.url
        base = {"server_pid": site.pid, "peer_pids": site.pids[1:], "aux_pids": list(aux),
                "warmup": p.warmup, "origin": origin}
        visitors = data["visitors"]
        out: dict[str, Any] = {"worker_ports": site.ports}
        if self.chat_only:
            return {**out, **self.chat_ladder(config.name, site, base, data)}
        if config.workers > 1:
            # Several workers: the chat ladder and P3 only. S1's echo and the storms measure
            # one process's socket handling, which the one-worker configuration gives.
            if not (self.only_http or self.only_storm):
                out.update(self.chat_ladder(config.name, site, base, data))
        elif not self.only_http:
            out.update(self.measure_sockets(config, site, base, visitors, data))
        out.update(self.measure_http(config, site, base, visitors, data))
        return out

    def measure_sockets(self, config: Config, site: Site, base: dict[str, Any],
                        visitors: list[dict[str, Any]], data: dict[str, Any]
                        ) -> dict[str, Any]:
        """P0–P2 against S1 and S2."""
        p, name = self.plan, config.name
        echo = f"{site.ws_url}{ECHO_PATH}"
        out: dict[str, Any] = {}
        out["s1_pingpong"] = self.measured(name, "P0 S1 ping-pong", site.pid,
            {**base, "job": "pingpong", "url": echo, "duration": p.pingpong_s})
        out["s1_closed_loop"] = self.measured(name, "P0 S1 closed loop", site.pid,
            {**base, "job": "closed_loop", "url": echo, "duration": p.closed_loop_s,
             "connections": p.closed_loop_connections})
        out["s1_openloop"] = self.measured(name, "P1 S1 open-loop baseline", site.pid,
            {**base, "job": "openloop_echo", "url": echo, "connections": p.visitors,
             "rate": p.baseline_rate, "duration": p.baseline_s, "warmup": p.step_warmup,
             "drain": p.drain_s, "tag": f"{self.tag}-s1-{name}"})
        out.update(self.chat_ladder(name, site, base, data))
        profiler = self._start_profiler(f"{name}-storm", site.pid)
        out["storm"] = self.measured(name, "P2 S2 storm", site.pid,
            {**base, **self.storm(), "url": f"{site.ws_url}{VISITOR_PATH}", "ready": "ready",
             "cookies": [f"chatwidget={v['token']}" for v in visitors[: p.storm_sockets]]})
        if profiler is not None:
            out["profile_storm"] = self.phase(name, "profile storm", profiler.stop)
        # S1 after S2, so S2's memory figure starts from the same heap as before; S1's
        # sockets reuse what S2's freed, which is why the report gives no KB for S1.
        profiler = self._start_profiler(f"{name}-s1-storm", site.pid)
        out["s1_storm"] = self.measured(name, "P2 S1 storm", site.pid,
            {**base, **self.storm(), "url": echo})
        if profiler is not None:
            out["profile_s1_storm"] = self.phase(name, "profile S1 storm", profiler.stop)
        return out

    def measure_http(self, config: Config, site: Site, base: dict[str, Any],
                     visitors: list[dict[str, Any]], data: dict[str, Any]) -> dict[str, Any]:
        """P3: ping and identify beside the bare view; with ``--profile`` each is recorded."""
        p, name = self.plan, config.name
        out: dict[str, Any] = {}
        http = {**base, "job": "http", "host": "127.0.0.1", "ports": site.ports,
                "host_header": f"127.0.0.1:{site.first.port}",
                "concurrency": p.http_concurrency, "duration": p.http_s,
                "cookie_name": "chatwidget", "app_id": data["widget"]["app_id"]}
        out["http_bare"] = self.measured(name, "P3 bare view", site.pid,
            {**http, "kind": "bare"})
        csrf = {"csrf_cookie_name": "csrftoken", "csrf_secret": secrets.token_hex(16)}
        for kind, job in (
            ("ping", {"path": PING_PATH,
                      "tokens": [v["token"] for v in visitors[: p.http_concurrency]], **csrf}),
            ("identify", {"path": IDENTIFY_PATH, "identities": data["identities"], **csrf}),
        ):
            profiler = self._start_profiler(f"{name}-{kind}", site.pid)
            out[f"http_{kind}"] = self.measured(name, f"P3 {kind}", site.pid,
                                                {**http, "kind": kind, **job})
            if profiler is not None:
                out[f"profile_{kind}"] = self.phase(name, f"profile {kind}", profiler.stop)
        return out

    def chat_ladder(self, name: str, site: Site, base: dict[str, Any],
                    data: dict[str, Any]) -> dict[str, Any]:
        """P1 on S2, profiled when asked (the first worker, when there are several)."""
        p, out = self.plan, {}
        profiler = self._start_profiler(name, site.pid)
        out["chat"] = self.measured(name, "P1 S2 chat ladder", site.pid,
            {**base, "job": "chat",
             "visitor_urls": [f"{url}{VISITOR_PATH}" for url in site.ws_urls],
             "agent_urls": [f"{url}{AGENT_PATH}" for url in site.ws_urls],
             "visitors": data["visitors"][: p.visitors],
             "tabs": p.second_tabs, "agents": data["agents"], "cookie_name": "chatwidget",
             "session_cookie_name": "sessionid", "rates": p.rates, "duration": p.step_s,
             "warmup": p.step_warmup, "drain": p.drain_s, "p99_limit_ms": p.p99_limit_ms,
             "delivery_min": p.delivery_min, "tag": f"{self.tag}-{name}"})
        if profiler is not None:
            out["profile"] = self.phase(name, "profile", profiler.stop)
        return out

    def server_log(self, config: Config, site: Site) -> dict[str, Any]:
        """Keep each worker's whole log beside the results and name every 5xx's exception.

        One worker: ``server-<config>.log``; several: ``server-<config>-w<n>.log`` each, and
        every error names the worker (1-based) whose log it came from.
        """
        errors: list[dict[str, Any]] = []
        logs: list[str] = []
        tail = ""
        several = len(site.workers) > 1
        for number, worker in enumerate(site.workers, start=1):
            text = Path(worker.log_path).read_text(errors="replace") if worker.log_path else ""
            found = serverlog.server_errors(text)
            errors += [{**e, "worker": number} for e in found] if several else found
            tail = tail or text[-2000:]
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                suffix = f"-w{number}" if several else ""
                path = self.log_dir / f"server-{config.name}{suffix}.log"
                path.write_text(text)
                logs.append(str(path))
        out: dict[str, Any] = {"server_errors": errors, "server_log_tail": tail}
        if logs and several:
            out["server_logs"] = logs
        elif logs:
            out["server_log"] = logs[0]
        return out

    def _start_profiler(self, name: str, pid: int) -> Any:
        if self.profile_dir is None:
            return None
        from .profile import Profiler

        self.profile_dir.mkdir(parents=True, exist_ok=True)
        path = self.profile_dir / f"profile-{name}.txt"
        return self.phase(name, "start py-spy", lambda: Profiler(pid, path))

    # ------------------------------------------------------------ the whole run

    def execute(self) -> dict[str, Any]:
        started = time.monotonic()
        procstat.raise_fd_limit()
        results: dict[str, Any] = {
            "meta": {
                "plan": asdict(self.plan),
                "machine": procstat.machine(),
                "asgi_server": self.asgi_server,
                "versions": _versions(self.asgi_server),
                "server_cores": sorted(self.server_cores or []),
                "loadgen_cores": self.loadgen_cores or [],
                "profiled": self.profile_dir is not None,
                "started_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            },
        }
        results["s0"] = {} if self.only_http or self.chat_only else self.reference()
        results["configs"] = {}
        for index, config in enumerate(self.configs):
            results["configs"][config.name] = self.configuration(config, index == 0)
        first = next(iter(results["configs"].values()), {})
        results["widget"] = None if self.chat_only or self.only_storm else self.phase(
            "widget", "P4 widget weight", lambda: widget.measure(first.get("widget_html")))
        results["errors"] = self.errors
        results["meta"]["seconds"] = round(time.monotonic() - started, 1)
        shutil.rmtree(self.tmp, ignore_errors=True)
        return results


def _versions(asgi_server: str) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("django", "channels", "channels-redis", asgi_server, "websockets",
                    "psycopg"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            pass
    return out
