"""R1–R4 and the issue's goals, computed from a run's raw results.

Kept apart from the measuring code so the arithmetic can be read (and checked) on its
own. Anything that could not be measured is ``None`` and reads "n/a", never 0.
"""

from __future__ import annotations

from typing import Any

GOAL_MSGS_PER_CORE = 800
GOAL_P99_MS_AT_500 = 25
GOAL_RATE_FOR_P99 = 500
GOAL_KB_PER_SOCKET = 30
GOAL_STORM_VS_S1 = 0.8
GOAL_WIDGET_GZIP_KB = 25
# Cores used by processes other than the bench's during a measurement: above this the
# figure was disturbed by a shared machine.
OTHER_BUSY = 0.25


def _get(data: Any, *path: Any) -> Any:
    for key in path:
        if data is None:
            return None
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _div(a: float | None, b: float | None) -> float | None:
    if a is None or not b:
        return None
    return round(a / b, 3)


def sustainable_step(chat: dict[str, Any] | None) -> dict[str, Any] | None:
    """The highest ladder step that kept p99 and delivery within the limits."""
    best = None
    for step in (chat or {}).get("steps", []):
        if step.get("sustained"):
            best = step
    return best


def step_at(chat: dict[str, Any] | None, rate: int) -> dict[str, Any] | None:
    for step in (chat or {}).get("steps", []):
        if step["rate"] == rate:
            return step
    return None


def worst_p99(step: dict[str, Any] | None) -> float | None:
    values = [_get(step, "receivers", kind, "latency_ms", "p99") for kind in ("agent", "tab")]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def integrity(step: dict[str, Any]) -> dict[str, int]:
    """Everything that should be zero in a healthy step, counted against what was sent."""
    out = {"lost": 0, "late": 0, "duplicated": 0, "out_of_order": 0}
    for stats in step.get("receivers", {}).values():
        for key in out:
            out[key] += stats.get(key, 0)
    out["unacked"] = step.get("sent", 0) - step.get("acked", 0)
    out["send_errors"] = step.get("send_errors", 0)
    out["ack_id_inversions"] = step.get("ack_id_inversions", 0)
    return out


def ratios(s0: dict[str, Any], config: dict[str, Any], baseline_rate: int) -> dict[str, Any]:
    best = sustainable_step(config.get("chat"))
    s1_rate = _get(config, "s1_closed_loop", "rate")
    at_base = step_at(config.get("chat"), baseline_rate)
    s2_p50 = _get(at_base, "receivers", "agent", "latency_ms", "p50")
    s1_p50 = _get(config, "s1_openloop", "step", "receivers", "echo", "latency_ms", "p50")
    storm, s0_storm = config.get("storm") or {}, s0.get("storm") or {}
    s1_storm = config.get("s1_storm") or {}
    return {
        "sustainable_rate": best["rate"] if best else None,
        "sustainable_delivered_per_s": best["delivered_per_s"] if best else None,
        "ladder_top_reached": bool(best) and best is (config.get("chat") or {})["steps"][-1]
        and not (config.get("chat") or {}).get("stopped_because"),
        "R1": _div(best["rate"] if best else None, s1_rate),
        "R1_s1_echo_rate": s1_rate,
        "R2_ms": round(s2_p50 - s1_p50, 3) if s2_p50 is not None and s1_p50 is not None
        else None,
        "R2_s2_p50_ms": s2_p50,
        "R2_s1_p50_ms": s1_p50,
        "R2_step_sustained": at_base.get("sustained") if at_base else None,
        "R3_rate": _div(storm.get("connections_per_s"), s0_storm.get("connections_per_s")),
        "R3_s1_rate": _div(storm.get("connections_per_s"), s1_storm.get("connections_per_s")),
        "R3_kb_per_socket": storm.get("kb_per_socket"),
        "R3_s0_kb_per_socket": s0_storm.get("kb_per_socket"),
        "R4": _div(_get(config, "http_ping", "rps"), _get(config, "http_bare", "rps")),
        "R4_identify": _div(_get(config, "http_identify", "rps"),
                            _get(config, "http_bare", "rps")),
    }


def _goal(value: Any, met: bool | None, target: str) -> dict[str, Any]:
    return {"value": value, "met": met, "target": target}


def goals(config: dict[str, Any], widget: dict[str, Any] | None, storm_sockets: int
          ) -> dict[str, dict[str, Any]]:
    chat = config.get("chat")
    best = sustainable_step(chat)
    per_core: Any = None
    if best:
        cores = (best.get("server_cpu") or 0) + (best.get("aux_cpu") or 0)
        per_core = round(best["delivered_per_s"] / cores, 1) if cores else None
    at_500 = step_at(chat, GOAL_RATE_FOR_P99)
    p99: Any = worst_p99(at_500)
    p99_met = None if p99 is None else p99 <= GOAL_P99_MS_AT_500
    if at_500 is None and chat and chat.get("steps"):
        # The ladder stopped below 500 msg/s: the server cannot do it, so the goal is missed.
        p99, p99_met = f"not reached ({chat.get('stopped_because') or 'ladder ended'})", False
    if best is None and chat and chat.get("steps"):
        per_core = f"no rate sustained (lowest tried {chat['steps'][0]['rate']} msg/s)"
    # Correctness is judged where the server claims to cope; what an overloaded step
    # dropped is reported in the table and in a warning, not hidden.
    checked = [s for s in (chat or {}).get("steps", []) if s.get("sustained")]
    problems: dict[str, int] = {}
    for step in checked:
        for key, count in integrity(step).items():
            problems[key] = problems.get(key, 0) + count
    # Late deliveries are a latency problem (the p99 goal), not a correctness one.
    bad = {k: v for k, v in problems.items() if v and k != "late"}
    storm = config.get("storm")
    clean_storm = None
    if storm:
        clean_storm = (storm["opened"] == storm_sockets and not storm["failures"]
                       and not storm["dropped_while_idle"])
    kb = (storm or {}).get("kb_per_socket")
    s1_rate = _get(config, "s1_storm", "connections_per_s")
    vs_s1 = _div((storm or {}).get("connections_per_s"), s1_rate)
    whole = _get(widget, "whole_widget", "gzip_bytes")
    return {
        "chat_msgs_per_core": _goal(per_core, None if per_core is None
                                    else not isinstance(per_core, str)
                                    and per_core >= GOAL_MSGS_PER_CORE,
                                    f">= {GOAL_MSGS_PER_CORE} msg/s per server core"),
        "p99_at_500": _goal(p99, p99_met,
                            f"p99 <= {GOAL_P99_MS_AT_500} ms at {GOAL_RATE_FOR_P99} msg/s"),
        "integrity": _goal(bad or ("none" if checked else None),
                           None if not checked else not bad,
                           "no loss, duplication or reordering"),
        "storm_clean": _goal(
            None if storm is None else f"{storm['opened']}/{storm_sockets} opened, "
            f"{storm['failures']} failed, {storm['dropped_while_idle']} dropped",
            clean_storm, f"{storm_sockets} sockets, no failures"),
        "storm_vs_s1": _goal(None if vs_s1 is None else f"{vs_s1:.3f} "
                             f"({storm['connections_per_s']:,} ÷ {s1_rate:,} per s)",
                             None if vs_s1 is None else vs_s1 >= GOAL_STORM_VS_S1,
                             f"storm >= {GOAL_STORM_VS_S1} x S1's connections/s"),
        "kb_per_socket": _goal(kb, None if kb is None else kb <= GOAL_KB_PER_SOCKET,
                               f"<= {GOAL_KB_PER_SOCKET} KB per socket"),
        "widget_gzip_kb": _goal(None if whole is None else round(whole / 1024, 1),
                                None if whole is None else whole <= GOAL_WIDGET_GZIP_KB * 1024,
                                f"whole widget <= {GOAL_WIDGET_GZIP_KB} KB gzipped"),
    }


def warnings(results: dict[str, Any]) -> list[str]:
    """What a reader must know before trusting the figures."""
    out = []
    load = _get(results, "meta", "machine", "loadavg_at_start") or [0]
    cores = _get(results, "meta", "machine", "cores_usable") or 1
    if load[0] > 0.25 * cores:
        out.append(f"The machine was busy when the run started (load average {load[0]} on "
                   f"{cores} cores): figures are noisy.")
    if not _get(results, "meta", "loadgen_cores"):
        out.append("Fewer than 2 usable cores: server and load generator share a core.")
    if _get(results, "meta", "plan", "name") == "quick":
        out.append("Quick (smoke) run: tiny loads; the figures and goals mean nothing.")

    disturbed = []

    def check(where: str, job: dict[str, Any] | None) -> None:
        if job and job.get("loadgen_saturated"):
            out.append(f"{where}: the load generator saturated its core "
                       f"({job['loadgen_cpu']:.0%}); this figure is a lower bound.")
        # /proc/stat counts in 10 ms ticks: a shorter window than 1 s says nothing.
        if job and (job.get("other_cpu") or 0) > OTHER_BUSY and (
                job.get("cpu_window_s") or 0) >= 1:
            disturbed.append(f"{where} ({job['other_cpu']:.2f})")

    s0 = results.get("s0") or {}
    for phase in ("pingpong", "closed_loop"):
        check(f"S0 {phase}", s0.get(phase))
    if s0.get("storm"):
        check("S0 storm", {"other_cpu": s0["storm"].get("connect_other_cpu"),
                           "cpu_window_s": s0["storm"].get("connect_cpu_window_s"),
                           "loadgen_saturated": s0["storm"].get("connect_loadgen_saturated"),
                           "loadgen_cpu": s0["storm"].get("connect_loadgen_cpu")})
    check("S0 open-loop baseline", _get(s0, "openloop", "step"))
    for name, config in (results.get("configs") or {}).items():
        for phase in ("s1_pingpong", "s1_closed_loop", "http_bare", "http_ping",
                      "http_identify"):
            check(f"{name} {phase}", config.get(phase))
        check(f"{name} S1 open-loop baseline", _get(config, "s1_openloop", "step"))
        for step in _get(config, "chat", "steps") or []:
            check(f"{name} chat at {step['rate']} msg/s", step)
        for step in _get(config, "chat", "steps") or []:
            lost = integrity(step)["lost"]
            if lost and not step.get("sustained"):
                out.append(f"{name} chat at {step['rate']} msg/s (over capacity): {lost:,} "
                           "deliveries never arrived; the server dropped them.")
        for label, key in (("storm", "storm"), ("S1 storm", "s1_storm")):
            storm = config.get(key)
            if storm:
                check(f"{name} {label}", {"other_cpu": storm.get("connect_other_cpu"),
                                          "cpu_window_s": storm.get("connect_cpu_window_s")})
            if storm and storm.get("connect_loadgen_saturated"):
                out.append(f"{name} {label}: the load generator saturated its core while "
                           "connecting; connections/s is a lower bound.")
    if disturbed:
        out.append(f"Other processes used more than {OTHER_BUSY} cores during: "
                   + ", ".join(disturbed) + " (cores in brackets): those figures are noisy.")
    return out
