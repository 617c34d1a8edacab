"""The benchmark's smoke run: ``python -m bench --quick`` must keep working and add up.

Only the shape of the output and the bookkeeping are asserted (every message sent is
delivered, late or lost; every socket opened or failed), never a timing: the figures of a
tiny run on a shared CI machine mean nothing, but a bench that no longer runs, or whose
counts stop adding up, would silently publish wrong figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import postgres_bin_dir, redis_server_path, unavailable

ROOT = Path(__file__).resolve().parents[2]
PHASE_HEADINGS = ["### P0 calibrate", "### P1 chat ladder", "### P2 connection storm",
                  "### P3 HTTP", "### P4 widget weight", "### Ratios", "### Goals"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench")
    command = [sys.executable, "-m", "bench", "--quick", "--out", str(out)]
    # The scale-out configuration as deployed: two workers on Redis and PostgreSQL. It
    # measures the ladder and P3 only, so it costs about what one worker on Redis did.
    if redis_server_path():
        command.append("--redis")
        if postgres_bin_dir():
            command += ["--postgres", "--workers", "2"]
    process = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=400)
    results_path = out / "results.json"
    assert results_path.exists(), process.stderr[-4000:]
    return {"process": process, "out": out, "results": json.loads(results_path.read_text())}


def configs(run: dict) -> dict:
    return run["results"]["configs"]


def one_worker(run: dict) -> dict:
    """The configurations with S1, the storms and one log: those on a single worker."""
    return {name: c for name, c in configs(run).items() if c["workers"] == 1}


def two_workers(run: dict) -> dict:
    if not (redis_server_path() and postgres_bin_dir()):
        unavailable("redis-server and PostgreSQL", "both are needed for two workers")
    return configs(run)["redis+postgres-2workers"]


def test_the_quick_run_completes_without_errors(run):
    assert run["results"]["errors"] == [], run["results"]["errors"]
    assert run["process"].returncode == 0, run["process"].stderr[-4000:]


def test_the_markdown_table_is_printed_and_written(run):
    printed = run["process"].stdout
    written = (run["out"] / "results.md").read_text()
    assert written.strip() in printed
    for heading in PHASE_HEADINGS:
        assert heading in written
    assert "| server | msg/s | sent |" in written
    assert "Machine:" in written


def test_the_scale_out_configuration_is_measured_beside_the_embedded_one(run):
    if not redis_server_path():
        unavailable("redis-server", "not found in PATH")
    scale_out = "redis+postgres-2workers" if postgres_bin_dir() else "redis"
    assert list(configs(run)) == ["embedded", scale_out]


def test_every_chat_message_is_delivered_late_or_lost_at_every_receiver(run):
    plan = run["results"]["meta"]["plan"]
    for name, config in configs(run).items():
        steps = config["chat"]["steps"]
        assert steps, name
        for step in steps:
            scheduled = step["rate"] * step["duration"]
            # ±1: which message is the first of the measured window is a float comparison.
            assert abs(step["sent"] + step["send_errors"] - scheduled) <= 1, (name, step)
            assert step["acked"] <= step["sent"]
            agent = step["receivers"]["agent"]
            assert agent["expected"] == step["sent"] * plan["agents"]
            tab = step["receivers"]["tab"]
            assert 0 < tab["expected"] < step["sent"]
            for stats in (agent, tab):
                assert stats["delivered"] + stats["late"] + stats["lost"] == stats["expected"]
                assert stats["latency_ms"]["count"] == stats["delivered"] + stats["late"]
            assert isinstance(step["loadgen_saturated"], bool)


def test_nothing_is_duplicated_or_reordered(run):
    for config in configs(run).values():
        for step in config["chat"]["steps"]:
            assert step["ack_id_inversions"] == 0
            for stats in step["receivers"].values():
                assert stats["duplicated"] == 0
                assert stats["out_of_order"] == 0


def test_the_echo_baselines_account_for_every_message(run):
    results = run["results"]
    steps = [results["s0"]["openloop"]["step"]]
    steps += [config["s1_openloop"]["step"] for config in one_worker(run).values()]
    for step in steps:
        echo = step["receivers"]["echo"]
        assert echo["expected"] == step["sent"]
        assert echo["delivered"] + echo["late"] + echo["lost"] == echo["expected"]


def test_every_storm_socket_is_either_opened_or_counted_as_failed(run):
    storms = [run["results"]["s0"]["storm"]]
    storms += [config[key] for config in one_worker(run).values()
               for key in ("storm", "s1_storm")]
    for storm in storms:
        assert storm["sockets"] == run["results"]["meta"]["plan"]["storm_sockets"]
        assert storm["opened"] + storm["failures"] == storm["sockets"]
        assert storm["handshake_ms"]["count"] >= storm["opened"]
        assert isinstance(storm["kb_per_socket"], float)


def test_every_http_request_the_bench_makes_is_accepted(run):
    # A 4xx here means the bench no longer speaks the API (a new header, a renamed field).
    for config in configs(run).values():
        for key in ("http_bare", "http_ping", "http_identify"):
            http = config[key]
            assert http["requests"] == sum(http["statuses"].values()) > 0
            assert http["ok"] == http["requests"], (key, http["sample_response"])


def test_the_visitor_storm_is_reported_beside_a_bare_channels_consumers_storm(run):
    written = (run["out"] / "results.md").read_text()
    for name, config in one_worker(run).items():
        ratio = config["ratios"]["R3_s1_rate"]
        assert ratio == round(config["storm"]["connections_per_s"]
                              / config["s1_storm"]["connections_per_s"], 3)
        assert f"| S1 Channels consumer ({name}) |" in written
        assert f"| S2 visitor socket ({name}) |" in written
        assert f"- {name}: S2 ÷ S1 connections/s = {ratio:,.3f}" in written


def test_ratios_and_goals_are_reported_for_each_configuration(run):
    for config in configs(run).values():
        assert {"R1", "R2_ms", "R3_rate", "R3_s1_rate", "R3_kb_per_socket", "R4"} <= set(
            config["ratios"])
        assert {"chat_msgs_per_core", "p99_at_500", "integrity", "storm_clean", "storm_vs_s1",
                "kb_per_socket", "widget_gzip_kb"} == set(config["goals"])


def test_the_widget_weight_grows_from_page_load_to_whole_widget(run):
    widget = run["results"]["widget"]
    assert widget["available"], widget.get("notes")
    before, after, whole = (set(widget[k]["files"]) for k in
                            ("before_open", "after_open", "whole_widget"))
    assert before and before <= after <= whole
    for key in ("before_open", "after_open", "whole_widget"):
        assert 0 < widget[key]["gzip_bytes"] < widget[key]["bytes"]


def test_each_server_log_is_kept_and_its_5xx_exceptions_are_listed(run):
    for name, config in configs(run).items():
        assert isinstance(config["server_errors"], list), name
        for error in config["server_errors"]:
            assert {"request", "exception", "count"} <= set(error)
            assert error.get("worker", 1) in range(1, config["workers"] + 1)
    for name, config in one_worker(run).items():
        log = Path(config["server_log"])
        assert log.exists() and log.name == f"server-{name}.log"
    assert "### Server errors (5xx" in (run["out"] / "results.md").read_text()


def test_each_of_two_workers_keeps_its_own_log(run):
    config = two_workers(run)
    logs = [Path(path) for path in config["server_logs"]]
    assert [log.name for log in logs] == [f"server-redis+postgres-2workers-w{n}.log"
                                          for n in (1, 2)]
    assert all(log.exists() for log in logs)
    assert len(set(config["worker_ports"])) == 2


def test_on_two_workers_every_delivery_is_counted_by_whether_it_crossed_workers(run):
    # Visitors, their second tabs and the agents are spread over both workers, so some of
    # every step's deliveries go through Redis to the other worker; none may go missing.
    config = two_workers(run)
    assert config["chat"]["workers"] == 2
    for step in config["chat"]["steps"]:
        routes = step["routes"]
        assert set(routes) == {"same worker", "other worker"}
        assert routes["other worker"]["expected"] > 0
        for key in ("expected", "delivered", "late", "lost", "duplicated", "out_of_order"):
            assert (routes["same worker"][key] + routes["other worker"][key]
                    == sum(stats[key] for stats in step["receivers"].values())), key
        for stats in routes.values():
            assert stats["delivered"] + stats["late"] + stats["lost"] == stats["expected"]
            assert stats["duplicated"] == stats["out_of_order"] == 0
        assert len(step["server_cpu_per_worker"]) == 2
        assert step["server_cpu"] == pytest.approx(sum(step["server_cpu_per_worker"]),
                                                   abs=0.002)


def test_the_two_worker_ladder_is_reported_beside_the_one_worker_tables(run):
    config = two_workers(run)
    written = (run["out"] / "results.md").read_text()
    assert "### Scale-out: one worker process and several" in written
    rows = [line for line in written.splitlines()
            if line.startswith("| redis+postgres-2workers | 2 |")]
    assert len(rows) == len(config["chat"]["steps"])
    assert "| S2 chat (redis+postgres-2workers) |" in written


def test_on_two_workers_both_serve_the_http_requests(run):
    config = two_workers(run)
    served: dict[int, int] = {}
    for key in ("http_bare", "http_ping", "http_identify"):
        by_port = config[key]["requests_by_port"]
        assert set(map(int, by_port)) <= set(config["worker_ports"]), key
        assert sum(by_port.values()) == config[key]["requests"], key
        for port, count in by_port.items():
            served[int(port)] = served.get(int(port), 0) + count
    # Per phase a loaded machine may let one port's few requests miss the short window.
    assert sorted(port for port, count in served.items() if count) == sorted(
        config["worker_ports"])
