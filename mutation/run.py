"""Mutation testing of the security-critical modules with cosmic-ray.

    nice -n 19 .venv/bin/python mutation/run.py --count        # mutants a module, none run
    nice -n 19 .venv/bin/python mutation/run.py                # every mutant of every module
    nice -n 19 .venv/bin/python mutation/run.py chatwidget/identity.py   # some modules
    nice -n 19 .venv/bin/python mutation/run.py --sample 60    # 60 mutants a module
    nice -n 19 .venv/bin/python mutation/run.py --mutant 'chatwidget/chat.py:88:core/AddNot#3'

Each module is mutated in its own scratch copy of the checkout (never in place), and
only the test files that guard it run against each mutant, stopping at the first failure
(``-x``), so a module takes minutes on two cores. ``--jobs 2`` mutates two modules at once.

``--sample N`` picks N mutants a module with ``random.Random(seed)`` over the mutants in
source order, so the same seed (``--seed``, default 12) picks the same mutants on every run
of the same source. ``--mutant`` re-runs mutants exactly as the report names them
(``path:line:operator#occurrence``; the line is informative, operator and occurrence
identify the mutant), e.g. after writing a test for a survivor.

Prints a line per module as it finishes, then a table (mutants in the module, run,
killed, survived, kill rate), the total, and every survivor with its mutated line.
A mutant whose tests outlive the per-mutant timeout (``--timeout-factor`` times the
module's unmutated run, at least a minute) counts as killed, as cosmic-ray counts it, but
is listed so a slow machine cannot hide a survivor. Needs the ``mutation`` extra
(``pip install -e '.[test,mutation]'``). Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

IDENTITY_TESTS = ["tests/identity", "tests/api/test_guards.py", "tests/api/test_identity.py",
                  "tests/api/test_ping.py", "tests/api/test_cors.py",
                  "tests/api/test_widget_cookies.py"]
SOCKET_TESTS = ["tests/channels/test_auth.py", "tests/channels/test_guards.py",
                "tests/channels/test_identity.py",
                "tests/channels/test_sockets_follow_session.py",
                "tests/channels/test_close_codes_as_documented.py"]
# frames every consumer parses and answers: hostile values, a full outbox, the agents' inbox
CONSUMER_TESTS = ["tests/channels/test_hostile_input.py", "tests/channels/test_overflow.py"]
# module → the test files that guard it (the targeted run for each of its mutants)
TARGETS: dict[str, list[str]] = {
    "chatwidget/identity.py": IDENTITY_TESTS + ["tests/channels/test_identity.py",
                                                "tests/api/test_same_page_ping.py"],
    "chatwidget/session.py": IDENTITY_TESTS + ["tests/channels/test_sockets_follow_session.py",
                                               "tests/api/test_ping_speaks_for_its_app_id.py",
                                               "tests/api/test_query_counts.py"],
    "chatwidget/security.py": ["tests/test_security.py", "tests/api/test_cors.py",
                               "tests/channels/test_auth.py",
                               "tests/channels/test_guards.py",
                               "tests/api/test_blank_origin_entries.py",
                               "tests/test_origin_validator_wiring.py"],
    "chatwidget/api/authentication.py": IDENTITY_TESTS + [
        "tests/api/test_csrf.py", "tests/api/test_isolation.py", "tests/api/test_inbox.py",
        "tests/api/test_site_authorization_schemes.py"],
    "chatwidget/api/downloads.py": ["tests/api/test_attachments.py", "tests/api/test_guards.py",
                                    "tests/api/test_isolation.py",
                                    "tests/api/test_attachment_owner.py"],
    "chatwidget/consumers/base.py": SOCKET_TESTS + CONSUMER_TESTS + [
        "tests/channels/test_frames.py", "tests/channels/test_messages.py",
        "tests/channels/test_events.py", "tests/channels/test_fanout.py",
        "tests/channels/test_resync_from_an_empty_tab.py",
        "tests/channels/test_recheck_once_a_period.py", "tests/test_parity.py",
        "tests/channels/test_frame_size_in_bytes.py"],
    "chatwidget/consumers/visitor.py": SOCKET_TESTS + CONSUMER_TESTS + [
        "tests/channels/test_resume.py", "tests/channels/test_events.py",
        "tests/channels/test_bearer_socket_auth_frame_first.py",
        "tests/channels/test_typing_reuses_the_conversation.py",
        "tests/channels/test_a_deleted_token_ends_its_sockets.py"],
    "chatwidget/consumers/agent.py": SOCKET_TESTS + CONSUMER_TESTS + [
        "tests/channels/test_events.py", "tests/channels/test_inbox.py",
        "tests/channels/test_fanout.py",
        "tests/channels/test_refused_inbox_socket_leaves_quietly.py"],
    "chatwidget/chat.py": ["tests/api/test_conversations.py", "tests/channels/test_messages.py",
                           "tests/test_unread.py", "tests/api/test_agent.py",
                           "tests/test_parity.py", "tests/api/test_inbox.py",
                           "tests/api/test_attributes.py", "tests/channels/test_events.py",
                           "tests/api/test_read_before_the_first_message.py"],
}

CONFIG = """\
[cosmic-ray]
module-path = "{module}"
timeout = {timeout}
excluded-modules = []
test-command = "{python} -m pytest -x -q -p no:cacheprovider -p no:randomly {tests}"

[cosmic-ray.distributor]
name = "local"

# `|` in this code base is almost only the `X | None` of annotations, which
# `from __future__ import annotations` never evaluates: every such mutant is equivalent.
[cosmic-ray.filters.operators-filter]
exclude-operators = ["core/ReplaceBinaryOperator_BitOr_.*"]
"""
MIN_TIMEOUT = 60.0
# The unmutated run only measures the machine: let it take what it takes on a busy one.
BASELINE_TIMEOUT = 1800.0


@dataclass
class Outcome:
    module: str
    mutants: int = 0  # after the operator filter
    run: int = 0
    survivors: list[str] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)
    incompetent: list[str] = field(default_factory=list)
    failed: bool = False  # cosmic-ray could not run it (e.g. the unmutated tests fail)

    @property
    def killed(self) -> int:
        return self.run - len(self.survivors)


def run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, text=True, capture_output=True, check=False)


def parse_mutant(name: str) -> tuple[str, str, int]:
    module, _line, rest = name.rsplit(":", 2)
    operator, occurrence = rest.rsplit("#", 1)
    return module, operator, int(occurrence)


def select(session: Path, sample: int | None, seed: int,
           wanted: set[tuple[str, int]] | None) -> None:
    """Mark every pending mutant outside the selection as skipped.

    Job ids are fresh uuids on every ``init``, so the sample is drawn from the mutants in
    source order (line, column, operator, occurrence): the same seed picks the same mutants.
    """
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with use_db(str(session), WorkDB.Mode.open) as db:
        pending = sorted(db.pending_work_items,
                         key=lambda item: (item.mutations[0].start_pos,
                                           item.mutations[0].operator_name,
                                           item.mutations[0].occurrence))
        if wanted is not None:
            keep = {item.job_id for item in pending
                    if (item.mutations[0].operator_name, item.mutations[0].occurrence)
                    in wanted}
            if len(keep) != len(wanted):
                raise SystemExit(f"{session.name}: only {len(keep)} of the {len(wanted)} "
                                 "named mutants exist (the source changed?)")
        elif sample is not None and sample < len(pending):
            keep = {item.job_id for item in random.Random(seed).sample(pending, sample)}
        else:
            return
        for item in pending:
            if item.job_id not in keep:
                db.set_result(item.job_id, WorkResult(output="not selected",
                                                      worker_outcome=WorkerOutcome.SKIPPED))


def write_config(module: str, scratch: Path, timeout: float) -> Path:
    config = scratch / f"{module.replace('/', '_')}.toml"
    config.write_text(CONFIG.format(module=module, python=sys.executable, timeout=timeout,
                                    tests=" ".join(TARGETS[module])))
    return config


def prepare(config: Path, scratch: Path, module: str) -> Path:
    """A session of every mutant of ``module`` but the excluded operators."""
    session = config.with_suffix(".sqlite")
    for step in (["cosmic-ray", "init", str(config), str(session)],
                 ["cr-filter-operators", str(session), str(config)]):
        cosmic(step, scratch, module)
    return session


def cosmic(step: list[str], scratch: Path, module: str) -> subprocess.CompletedProcess[str]:
    result = run([str(Path(sys.executable).parent / step[0]), *step[1:]], scratch)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(step[:2])} failed for {module}:\n"
                         f"{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result


def copy_checkout() -> Path:
    files = run(["git", "ls-files", "-co", "--exclude-standard"], ROOT).stdout.split()
    scratch = Path(tempfile.mkdtemp(prefix="chatwidget-mutation-"))
    for path in files:
        target = scratch / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / path).is_file():
            shutil.copy2(ROOT / path, target)
    return scratch


def count(module: str) -> int:
    scratch = copy_checkout()
    try:
        return pending_count(prepare(write_config(module, scratch, MIN_TIMEOUT), scratch,
                                     module))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def pending_count(session: Path) -> int:
    from cosmic_ray.work_db import WorkDB, use_db

    with use_db(str(session), WorkDB.Mode.open) as db:
        return sum(1 for _ in db.pending_work_items)


def mutate(module: str, sample: int | None, seed: int, factor: float,
           wanted: set[tuple[str, int]] | None) -> Outcome:
    scratch = copy_checkout()
    try:
        started = time.monotonic()
        cosmic(["cosmic-ray", "baseline", str(write_config(module, scratch, BASELINE_TIMEOUT))],
               scratch, module)
        # the timeout follows this machine's speed now, not a constant tuned elsewhere
        timeout = max(MIN_TIMEOUT, factor * (time.monotonic() - started))
        config = write_config(module, scratch, round(timeout))
        session = prepare(config, scratch, module)
        outcome = Outcome(module, mutants=pending_count(session))
        select(session, sample, seed, wanted)
        cosmic(["cosmic-ray", "exec", str(config), str(session)], scratch, module)
        dump = cosmic(["cosmic-ray", "dump", str(session)], scratch, module)
        source = (scratch / module).read_text().splitlines()
        for line in dump.stdout.splitlines():
            work_item, result = json.loads(line)
            if result is None or result["worker_outcome"] == "skipped":
                continue
            outcome.run += 1
            spec = work_item["mutations"][0]
            row = spec["start_pos"][0]
            name = (f"{spec['module_path']}:{row}:{spec['operator_name']}"
                    f"#{spec['occurrence']}")
            described = f"{name}   {source[row - 1].strip()}"
            if result["test_outcome"] == "survived":
                outcome.survivors.append(described)
            elif result["test_outcome"] == "incompetent":
                outcome.incompetent.append(described)
            elif (result.get("output") or "").strip() == "timeout":
                outcome.timeouts.append(described)
        return outcome
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def rate(killed: int, total: int) -> str:
    return f"{100 * killed / total:.1f} %" if total else "-"


def report(outcomes: list[Outcome], sampled: bool) -> None:
    print("\n| module | mutants | run | killed | survived | killed / run |")
    print("|---|---|---|---|---|---|")
    for o in outcomes:
        print(f"| {o.module} | {o.mutants} | {o.run} | {o.killed} | {len(o.survivors)} | "
              f"{'FAILED, see above' if o.failed else rate(o.killed, o.run)} |")
    mutants, ran = sum(o.mutants for o in outcomes), sum(o.run for o in outcomes)
    killed = sum(o.killed for o in outcomes)
    print(f"| **total** | {mutants} | {ran} | {killed} | {ran - killed} | "
          f"{rate(killed, ran)} |")
    if sampled:
        # A sampled module stands for all its mutants: weigh its rate by its size.
        estimate = sum(o.mutants * o.killed / o.run for o in outcomes if o.run)
        print(f"\nEstimated over all {mutants} mutants (each module's rate weighted by its "
              f"mutants): {rate(estimate, mutants)}")
    for label, attribute in (("survived", "survivors"), ("timed out (counted killed)",
                                                          "timeouts"),
                             ("incompetent (counted killed)", "incompetent")):
        names = [name for o in outcomes for name in getattr(o, attribute)]
        if names:
            print(f"\n{label}:")
            for name in names:
                print(f"  {name}")
    print(f"\nTOTAL: {killed}/{ran} killed ({rate(killed, ran)})", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="modules to mutate (default: all)")
    parser.add_argument("--sample", type=int, help="run only this many mutants a module, "
                                                   "drawn reproducibly with --seed")
    parser.add_argument("--seed", type=int, default=12, help="seed of --sample (default 12)")
    parser.add_argument("--mutant", action="append", default=[],
                        help="re-run this mutant (path:line:operator#occurrence, as "
                             "reported); repeatable")
    parser.add_argument("--count", action="store_true",
                        help="print the mutants a module and run none")
    parser.add_argument("--jobs", type=int, default=1, help="modules mutated at once")
    parser.add_argument("--timeout-factor", type=float, default=5.0,
                        help="per-mutant timeout as a multiple of the module's unmutated "
                             "test run (at least a minute)")
    options = parser.parse_args(argv)
    wanted: dict[str, set[tuple[str, int]]] = {}
    for name in options.mutant:
        module, operator, occurrence = parse_mutant(name)
        wanted.setdefault(module, set()).add((operator, occurrence))
    modules = options.modules or list(wanted) or list(TARGETS)
    unknown = [m for m in modules if m not in TARGETS]
    if unknown:
        raise SystemExit(f"no targeted tests known for {unknown}; add them to TARGETS")

    if options.count:
        with ThreadPoolExecutor(options.jobs) as pool:
            counts = list(pool.map(count, modules))
        for module, n in zip(modules, counts, strict=True):
            print(f"{module}: {n} mutants")
        print(f"TOTAL: {sum(counts)} mutants")
        return 0

    def one(module: str) -> Outcome:
        try:
            outcome = mutate(module, options.sample, options.seed, options.timeout_factor,
                             wanted.get(module) if wanted else None)
        except SystemExit as failure:  # one module's broken run must not lose the others'
            print(failure, file=sys.stderr, flush=True)
            return Outcome(module, failed=True)
        print(f"{module}: {outcome.killed}/{outcome.run} killed "
              f"({rate(outcome.killed, outcome.run)}) of {outcome.mutants} mutants",
              flush=True)
        for name in outcome.survivors:  # at once, so a run cut short still names them
            print(f"  survived: {name}", flush=True)
        return outcome

    with ThreadPoolExecutor(options.jobs) as pool:
        outcomes = list(pool.map(one, modules))
    report(outcomes, sampled=options.sample is not None and not wanted)
    return 0 if all(not o.survivors and not o.failed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
