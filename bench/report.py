"""Writing a run down: results.json, results.md and, with matplotlib, latency.png.

The Markdown is what gets pasted into the README, so it names the machine, the load
average it started with and every warning before any figure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import ratios as r


def _f(value: Any, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _lat(summary: dict[str, Any] | None, keys: tuple[str, ...] = ("p50", "p90", "p99", "max")
         ) -> str:
    if not summary or not summary.get("count"):
        return "n/a"
    return " / ".join(_f(summary.get(k), 2) for k in keys)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_f(c) if not isinstance(c, str) else c for c in row) + " |"
              for row in rows]
    return lines + [""]


def _cpu(figures: dict[str, Any] | None, key: str = "server_cpu", aux: str = "aux_cpu") -> str:
    """Server CPU in cores, with the database/Redis processes' share after a plus."""
    if not figures or figures.get(key) is None:
        return "n/a"
    text = f"{figures[key]:.2f}"
    if figures.get(aux):
        text += f" + {figures[aux]:.2f}"
    return text


def enrich(results: dict[str, Any]) -> dict[str, Any]:
    """Add ratios, goals and warnings computed from the raw figures."""
    plan = results["meta"]["plan"]
    for config in results.get("configs", {}).values():
        config["ratios"] = r.ratios(results.get("s0") or {}, config, plan["baseline_rate"])
        config["goals"] = r.goals(config, results.get("widget"), plan["storm_sockets"])
    results["warnings"] = r.warnings(results)
    return results


def _header(results: dict[str, Any]) -> list[str]:
    meta = results["meta"]
    m = meta["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    pin = (f"server pinned to core {meta['server_cores']}, load generator to "
           f"{meta['loadgen_cores']}" if meta["loadgen_cores"] else "no pinning")
    lines = [
        f"Run `{meta['plan']['name']}` started {meta['started_at']}, took {meta['seconds']} s.",
        "",
        f"Machine: {m['cpu_model']}, {m['cores_usable']} usable cores, {m['memory_gb']} GB, "
        f"Linux {m['kernel']}, Python {m['python']}; load average at start "
        f"{m['loadavg_at_start']}. {pin}. ASGI server: {meta['asgi_server']} (one process; "
        "a configuration with N workers runs N processes, all on the server's core). "
        f"{versions}.",
        "",
    ]
    for warning in results.get("warnings", []):
        lines.append(f"> **Warning:** {warning}")
    if results.get("warnings"):
        lines.append("")
    return lines


def _p0(results: dict[str, Any]) -> list[str]:
    s0 = results.get("s0") or {}
    n = results["meta"]["plan"]["closed_loop_connections"]
    rows = [["S0 raw websockets", _lat((s0.get("pingpong") or {}).get("rtt_ms"), ("p50", "p99")),
             _f((s0.get("closed_loop") or {}).get("rate")),
             _lat((s0.get("closed_loop") or {}).get("rtt_ms"), ("p50", "p99")),
             _f((s0.get("closed_loop") or {}).get("server_cpu"), 2),
             _f((s0.get("closed_loop") or {}).get("loadgen_cpu"), 2)]]
    for name, c in results.get("configs", {}).items():
        rows.append([f"S1 Channels echo ({name})",
                     _lat((c.get("s1_pingpong") or {}).get("rtt_ms"), ("p50", "p99")),
                     _f((c.get("s1_closed_loop") or {}).get("rate")),
                     _lat((c.get("s1_closed_loop") or {}).get("rtt_ms"), ("p50", "p99")),
                     _f((c.get("s1_closed_loop") or {}).get("server_cpu"), 2),
                     _f((c.get("s1_closed_loop") or {}).get("loadgen_cpu"), 2)])
    return ["### P0 calibrate", ""] + _table(
        ["server", "ping-pong RTT p50 / p99 ms", f"echo/s ({n} sockets, closed loop)",
         "closed-loop RTT p50 / p99 ms", "server CPU", "loadgen CPU"], rows)


def _p1(results: dict[str, Any]) -> list[str]:
    plan = results["meta"]["plan"]
    rows = []
    s0_step = (results.get("s0") or {}).get("openloop") or {}
    baselines = [("S0 echo", s0_step.get("step"))]
    for name, c in results.get("configs", {}).items():
        baselines.append((f"S1 echo ({name})", (c.get("s1_openloop") or {}).get("step")))
    for label, step in baselines:
        if step:
            echo = step["receivers"].get("echo", {})
            rows.append([label, step["rate"], step["sent"], _lat(echo.get("latency_ms")), "—",
                         _f(echo.get("delivered", 0) / plan["baseline_s"]), echo.get("late"),
                         echo.get("lost"),
                         echo.get("duplicated"), echo.get("out_of_order"),
                         _cpu(step), _f(step["loadgen_cpu"], 2), "baseline"])
    for name, c in results.get("configs", {}).items():
        for step in (c.get("chat") or {}).get("steps", []):
            problems = r.integrity(step)
            agent = step["receivers"].get("agent", {})
            tab = step["receivers"].get("tab", {})
            verdict = "ok" if step["sustained"] else "**over**"
            rows.append([f"S2 chat ({name})", step["rate"], step["sent"],
                         _lat(agent.get("latency_ms")), _lat(tab.get("latency_ms")),
                         _f(step["delivered_per_s"]), problems["late"], problems["lost"],
                         problems["duplicated"], problems["out_of_order"],
                         _cpu(step), _f(step["loadgen_cpu"], 2), verdict])
    lines = ["### P1 chat ladder (open loop)", "",
             f"{plan['visitors']} visitor sockets ({plan['second_tabs']} with a second tab), "
             f"{plan['agents']} agent sockets; {plan['step_s']} s per step after "
             f"{plan['step_warmup']} s warm-up; a step is over when agents' p99 > "
             f"{plan['p99_limit_ms']:.0f} ms or delivery < {plan['delivery_min']:.0%}. "
             "Latency = receive time − scheduled send time. Late/lost/dup/out-of-order count "
             "deliveries at agents and second tabs: late arrived after the step was scored "
             "(drain included), lost never arrived.", ""]
    lines += _table(["server", "msg/s", "sent", "agents p50 / p90 / p99 / max ms",
                     "2nd tabs p50 / p90 / p99 / max ms", "delivered/s", "late", "lost", "dup",
                     "out of order", "server CPU (+ db/redis)", "loadgen CPU", "verdict"], rows)
    for name, c in results.get("configs", {}).items():
        chat = c.get("chat") or {}
        if chat.get("stopped_because"):
            lines.append(f"- {name}: ladder stopped at {chat['stopped_because']}.")
        if chat.get("errors"):
            lines.append(f"- {name}: server error frames {chat['errors']}.")
    return lines + [""]


def _scale_out(results: dict[str, Any]) -> list[str]:
    """The ladder on several worker processes beside the same configuration on one."""
    configs = results.get("configs", {})
    bases = {name.split("-")[0] for name, c in configs.items() if c.get("workers", 1) > 1}
    if not bases:
        return []
    rows = []
    for name, c in configs.items():
        if name.split("-")[0] not in bases:
            continue
        for step in (c.get("chat") or {}).get("steps", []):
            agent = step["receivers"].get("agent", {})
            routes = step.get("routes") or {}
            same, other = routes.get("same worker"), routes.get("other worker")
            if not routes:  # one worker: every delivery stays on it
                same = {key: sum(s.get(key, 0) for s in step["receivers"].values())
                        for key in ("delivered", "late", "lost")}
            each = step.get("server_cpu_per_worker")
            rows.append([
                name, c.get("workers", 1), step["rate"],
                _lat(agent.get("latency_ms"), ("p50", "p99")), _f(step["delivered_per_s"]),
                " / ".join(f"{v:.2f}" for v in each) if each else _cpu(step, aux=""),
                # CPU per message holds on a busy machine, where the latencies do not.
                _f(step["server_cpu"] * step["duration"] / max(step["sent"], 1) * 1000, 2),
                _route(same), _route(other, full=True),
                "ok" if step["sustained"] else "**over**"])
    lines = ["### Scale-out: one worker process and several", "",
             "The same ladder with the sockets spread over the workers' ports, as a proxy "
             "would: visitor *i* on worker *i* mod N, its second tab on the next worker, "
             "agent *a* on worker *a* mod N. Deliveries are counted again by route: on the "
             "sender's worker, or on another one (through the Redis layer). All the workers "
             "share the server's core, so this shows what splitting a core between workers "
             "costs and that nothing is lost between them, not how the site scales with "
             "cores.", ""]
    return lines + _table(["config", "workers", "msg/s", "agents p50 / p99 ms", "delivered/s",
                           "server CPU by worker", "server CPU ms per message",
                           "same worker: delivered / late / lost",
                           "other worker: delivered / late / lost / dup / out of order",
                           "verdict"], rows)


def _route(stats: dict[str, Any] | None, full: bool = False) -> str:
    if not stats:
        return "—"
    keys = ("delivered", "late", "lost") + (("duplicated", "out_of_order") if full else ())
    return " / ".join(_f(stats.get(k, 0)) for k in keys)


def _p2(results: dict[str, Any]) -> list[str]:
    rows = []
    entries = [("S0 raw websockets", (results.get("s0") or {}).get("storm"))]
    for n, c in results.get("configs", {}).items():
        entries += [(f"S1 Channels consumer ({n})", c.get("s1_storm")),
                    (f"S2 visitor socket ({n})", c.get("storm"))]
    for label, s in entries:
        if s:
            # S1's storm runs after S2's in the same process and reuses the memory S2's
            # sockets freed: its RSS growth says nothing about a socket's size.
            kb = "n/a" if label.startswith("S1") else _f(s["kb_per_socket"])
            # CPU per connection holds on a busy machine, where connections/s does not.
            cpu_ms = s["connect_server_cpu"] * s["seconds"] / max(s["opened"], 1) * 1000
            rows.append([label, s["sockets"], s["opened"], s["failures"] + s["dropped_while_idle"],
                         _f(s["connections_per_s"]), _f(cpu_ms, 2),
                         _lat(s["handshake_ms"], ("p50", "p99")),
                         _lat(s.get("ready_ms"), ("p50", "p99")), kb,
                         _cpu(s, "idle_server_cpu", "idle_aux_cpu"),
                         _f(s["connect_loadgen_cpu"], 2)])
    plan = results["meta"]["plan"]
    lines = [f"### P2 connection storm ({plan['storm_concurrency']} connecting at once)", ""]
    lines += _table(["server", "sockets", "opened", "failed/dropped", "connections/s",
                     "server CPU ms per connection", "handshake p50 / p99 ms",
                     "ready p50 / p99 ms", "KB per socket (RSS)", "idle server CPU",
                     "loadgen CPU"], rows)
    for n, c in results.get("configs", {}).items():
        ratio = (c.get("ratios") or {}).get("R3_s1_rate")
        if ratio is not None:
            lines.append(f"- {n}: S2 ÷ S1 connections/s = {_f(ratio, 3)} (S1: a bare Channels "
                         "consumer in the same server process, usable once accepted; S2: a "
                         "visitor socket, usable at its `ready` frame).")
    return lines + [""]


def _p3(results: dict[str, Any]) -> list[str]:
    rows = []
    for name, c in results.get("configs", {}).items():
        for key, label in (("http_bare", "bare async view"), ("http_ping", "ping"),
                           ("http_identify", "identify")):
            h = c.get(key)
            if h:
                bad = sum(v for k, v in h["statuses"].items() if int(k) >= 400)
                rows.append([name, label, _f(h["rps"]),
                             _lat(h["latency_ms"], ("p50", "p99")), bad + sum(
                                 h["errors"].values()), _cpu(h),
                             _f(h["loadgen_cpu"], 2)])
    conc = results["meta"]["plan"]["http_concurrency"]
    return [f"### P3 HTTP ({conc} keep-alive connections, closed loop)", ""] + _table(
        ["config", "endpoint", "requests/s", "p50 / p99 ms", "errors", "server CPU (+ db/redis)",
         "loadgen CPU"], rows)


def _server_errors(results: dict[str, Any]) -> list[str]:
    """Each 5xx the servers answered, by request and the exception behind it."""
    rows = [[name + (f" (worker {e['worker']})" if "worker" in e else ""), e["request"],
             e["exception"], e["count"]]
            for name, c in results.get("configs", {}).items()
            for e in c.get("server_errors", [])]
    lines = ["### Server errors (5xx, from each server's log)", ""]
    if not rows:
        return lines + ["None: no server answered 5xx or logged an exception.", ""]
    return lines + _table(["config", "request", "exception", "count"], rows)


def _p4(results: dict[str, Any]) -> list[str]:
    w = results.get("widget") or {}
    lines = ["### P4 widget weight (gzip -9)", ""]
    if not w.get("available"):
        return lines + [f"Not measured: {'; '.join(w.get('notes', ['no data']))}", ""]
    rows = []
    for key, label in (("before_open", "page load (before opening)"),
                       ("after_open", "after opening"), ("whole_widget", "whole widget")):
        part = w[key]
        rows.append([label, ", ".join(Path(f).name for f in part["files"]), part["bytes"],
                     part["gzip_bytes"]])
    lines += _table(["", "files", "bytes", "gzip bytes"], rows)
    return lines + [f"- {note}" for note in w.get("notes", [])] + [""]


def _ratios_and_goals(results: dict[str, Any]) -> list[str]:
    configs = results.get("configs", {})
    names = list(configs)
    rat = {n: configs[n].get("ratios", {}) for n in names}
    plan = results["meta"]["plan"]

    def row(label: str, fn: Any) -> list[Any]:
        return [label] + [fn(rat[n]) for n in names]

    rows = [
        row("sustainable chat rate (msg/s)", lambda x: _f(x["sustainable_rate"])
            + (" (top of ladder)" if x["ladder_top_reached"] else "")),
        row("R1 = sustainable ÷ S1 echo rate", lambda x: f"{_f(x['R1'], 3)} "
            f"(÷ {_f(x['R1_s1_echo_rate'])})"),
        row(f"R2 = S2 − S1 p50 at {plan['baseline_rate']} msg/s (ms)",
            lambda x: f"{_f(x['R2_ms'], 2)} ({_f(x['R2_s2_p50_ms'], 2)} − "
            f"{_f(x['R2_s1_p50_ms'], 2)})"
            + ("" if x["R2_step_sustained"] in (True, None) else ", S2 over capacity there")),
        row("R3 = S2 ÷ S0 connections/s", lambda x: _f(x["R3_rate"], 3)),
        row("storm S2 ÷ S1 connections/s", lambda x: _f(x["R3_s1_rate"], 3)),
        row("R3 KB per socket, S2 (S0)", lambda x: f"{_f(x['R3_kb_per_socket'])} "
            f"({_f(x['R3_s0_kb_per_socket'])})"),
        row("R4 = ping ÷ bare view rps", lambda x: _f(x["R4"], 3)),
        row("identify ÷ bare view rps", lambda x: _f(x["R4_identify"], 3)),
    ]
    lines = ["### Ratios", ""] + _table(["ratio", *names], rows)
    goal_rows = []
    if names:
        for key, goal in configs[names[0]].get("goals", {}).items():
            cells = []
            for n in names:
                g = configs[n]["goals"][key]
                mark = {True: "met", False: "**missed**", None: "n/a"}[g["met"]]
                cells.append(f"{_f(g['value'])} — {mark}")
            goal_rows.append([goal["target"], *cells])
    return lines + ["### Goals (issue #5)", ""] + _table(["goal", *names], goal_rows)


PROFILED = (("profile", "the chat ladder"), ("profile_ping", "P3 ping"),
            ("profile_identify", "P3 identify"), ("profile_storm", "P2 S2 storm"),
            ("profile_s1_storm", "P2 S1 storm"))


def _profile(results: dict[str, Any]) -> list[str]:
    lines = []
    for name, c in results.get("configs", {}).items():
        for key, during in PROFILED:
            lines += _profile_table(c.get(key), f"{during} ({name}, py-spy)")
    return lines


def _profile_table(p: dict[str, Any] | None, title: str) -> list[str]:
    if not p or not p.get("samples"):
        return []
    lines = [f"### Profile of the server during {title}", "",
             f"{p['samples']:,} active samples; raw stacks in `{Path(p['file']).name}` "
             "(open in speedscope.app).", ""]
    rows = []
    areas, functions = p["self_by_area_pct"], p["inclusive_pct"]
    for i in range(max(len(areas), len(functions))):
        area = areas[i] if i < len(areas) else ["", None]
        func = functions[i] if i < len(functions) else ["", None]
        rows.append([area[0], _pct_or_blank(area[1]), f"`{func[0]}`" if func[0] else "",
                     _pct_or_blank(func[1])])
    return lines + _table(["package (self time)", "%", "function (inclusive)", "%"], rows)


def _pct_or_blank(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def markdown(results: dict[str, Any]) -> str:
    lines = ["## chatwidget benchmark", ""]
    lines += _header(results)
    configs = results.get("configs", {})
    lines += ["Configurations: " + "; ".join(c.get("label", n) for n, c in configs.items())
              + ".", ""]
    lines += _p0(results) + _p1(results) + _scale_out(results) + _p2(results)
    lines += _p3(results) + _p4(results)
    lines += _ratios_and_goals(results)
    lines += _profile(results)
    lines += _server_errors(results)
    if results.get("errors"):
        lines += ["### Errors", ""]
        for error in results["errors"]:
            first = error["error"].splitlines()[-1] if error["error"] else ""
            lines.append(f"- {error['where']} / {error['phase']}: {first}")
        lines.append("")
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> bool:
    """Agents' p50 and p99 against the offered rate; False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (name, c) in enumerate(results.get("configs", {}).items()):
        color = colors[index % len(colors)]
        steps = (c.get("chat") or {}).get("steps", [])
        if not steps:
            continue
        rates = [s["rate"] for s in steps]
        for pct, style in (("p50", "o-"), ("p99", "s--")):
            values = [(s["receivers"].get("agent", {}).get("latency_ms") or {}).get(pct)
                      for s in steps]
            ax.plot(rates, [v if v is not None else float("nan") for v in values], style,
                    color=color, label=f"S2 {name} {pct}")
        s1 = (c.get("s1_openloop") or {}).get("step")
        if s1:
            echo = s1["receivers"]["echo"]["latency_ms"]
            ax.plot([s1["rate"]], [echo["p50"]], "^", color=color,
                    label=f"S1 echo p50 ({name})")
    ax.axhline(r.GOAL_P99_MS_AT_500, color="green", lw=0.8, ls=":", label="p99 goal (25 ms)")
    ax.axhline(results["meta"]["plan"]["p99_limit_ms"], color="red", lw=0.8, ls=":",
               label="ladder limit")
    ax.set_yscale("log")
    ax.set_xlabel("offered rate (msg/s)")
    ax.set_ylabel("latency at agents (ms)")
    ax.set_title("chatwidget: visitor → agent latency vs rate")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write(results: dict[str, Any], out_dir: Path) -> dict[str, str]:
    """Write the three outputs; returns their paths by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "results.json", "markdown": out_dir / "results.md"}
    paths["json"].write_text(json.dumps(results, indent=2, default=str))
    paths["markdown"].write_text(markdown(results))
    png = out_dir / "latency.png"
    if plot(results, png):
        paths["png"] = png
    return {k: str(v) for k, v in paths.items()}
