"""Mutation testing of the security-critical modules with cosmic-ray.

    .venv/bin/python mutation/run.py                          # every module below
    .venv/bin/python mutation/run.py chatwidget/identity.py   # some of them
    .venv/bin/python mutation/run.py --sample 40 ...          # 40 random mutants a module

Each module is mutated in a scratch copy of the checkout (never in place), and only the
test files that guard it run against each mutant, stopping at the first failure, so a
module takes minutes on two cores. Prints, per module, the mutants, the kill rate and
every survivor (file:line, operator), then a total. Needs the ``mutation`` extra
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

IDENTITY_TESTS = ["tests/identity", "tests/api/test_guards.py", "tests/api/test_identity.py",
                  "tests/api/test_ping.py", "tests/api/test_cors.py",
                  "tests/api/test_widget_cookies.py"]
SOCKET_TESTS = ["tests/channels/test_auth.py", "tests/channels/test_guards.py",
                "tests/channels/test_identity.py",
                "tests/channels/test_sockets_follow_session.py"]
# frames every consumer parses and answers: hostile values, a full outbox, the agents' inbox
CONSUMER_TESTS = ["tests/channels/test_hostile_input.py", "tests/channels/test_overflow.py"]
# module → the test files that guard it (the targeted run for each of its mutants)
TARGETS: dict[str, list[str]] = {
    "chatwidget/identity.py": IDENTITY_TESTS + ["tests/channels/test_identity.py"],
    "chatwidget/session.py": IDENTITY_TESTS + ["tests/channels/test_sockets_follow_session.py"],
    "chatwidget/security.py": ["tests/test_security.py", "tests/api/test_cors.py",
                               "tests/channels/test_auth.py",
                               "tests/channels/test_guards.py"],
    "chatwidget/api/authentication.py": IDENTITY_TESTS + ["tests/api/test_csrf.py",
                                                          "tests/api/test_isolation.py",
                                                          "tests/api/test_inbox.py"],
    "chatwidget/api/downloads.py": ["tests/api/test_attachments.py", "tests/api/test_guards.py",
                                    "tests/api/test_isolation.py"],
    "chatwidget/consumers/base.py": SOCKET_TESTS + CONSUMER_TESTS + [
        "tests/channels/test_frames.py", "tests/channels/test_messages.py",
        "tests/channels/test_events.py", "tests/channels/test_fanout.py"],
    "chatwidget/consumers/visitor.py": SOCKET_TESTS + CONSUMER_TESTS + [
        "tests/channels/test_resume.py", "tests/channels/test_events.py"],
    "chatwidget/consumers/agent.py": SOCKET_TESTS + CONSUMER_TESTS + [
        "tests/channels/test_events.py", "tests/channels/test_inbox.py",
        "tests/channels/test_fanout.py"],
    "chatwidget/chat.py": ["tests/api/test_conversations.py", "tests/channels/test_messages.py",
                           "tests/test_unread.py", "tests/api/test_agent.py",
                           "tests/test_parity.py", "tests/api/test_inbox.py"],
}

CONFIG = """\
[cosmic-ray]
module-path = "{module}"
timeout = 120.0
excluded-modules = []
test-command = "{python} -m pytest -x -q -p no:cacheprovider -p no:randomly {tests}"

[cosmic-ray.distributor]
name = "local"

# `|` in this code base is almost only the `X | None` of annotations, which
# `from __future__ import annotations` never evaluates: every such mutant is equivalent.
[cosmic-ray.filters.operators-filter]
exclude-operators = ["core/ReplaceBinaryOperator_BitOr_.*"]
"""


def run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, text=True, capture_output=True, check=False)


def sample_out(session: Path, keep: int) -> None:
    """Mark all but ``keep`` random pending mutants as skipped (an estimate in minutes)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with use_db(str(session), WorkDB.Mode.open) as db:
        pending = [item.job_id for item in db.pending_work_items]
        for job_id in random.Random(12).sample(pending, max(0, len(pending) - keep)):
            db.set_result(job_id, WorkResult(output="sampled out",
                                             worker_outcome=WorkerOutcome.SKIPPED))


def mutate(module: str, scratch: Path, sample: int | None) -> tuple[int, int, list[str]]:
    tests = " ".join(TARGETS[module])
    name = module.replace("/", "_")
    config = scratch / f"{name}.toml"
    config.write_text(CONFIG.format(module=module, python=sys.executable, tests=tests))
    session = scratch / f"{name}.sqlite"
    bin_dir = Path(sys.executable).parent
    steps = [["cosmic-ray", "init", str(config), str(session)],
             ["cr-filter-operators", str(session), str(config)],
             ["cosmic-ray", "baseline", str(config)]]
    for step in steps:
        result = run([str(bin_dir / step[0]), *step[1:]], scratch)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(step[:2])} failed for {module}:\n"
                             f"{result.stdout[-3000:]}{result.stderr[-3000:]}")
    if sample is not None:
        sample_out(session, sample)
    result = run([str(bin_dir / "cosmic-ray"), "exec", str(config), str(session)], scratch)
    if result.returncode != 0:
        raise SystemExit(f"cosmic-ray exec failed for {module}:\n{result.stderr[-3000:]}")
    dump = run([str(bin_dir / "cosmic-ray"), "dump", str(session)], scratch)
    total, survivors = 0, []
    for line in dump.stdout.splitlines():
        work_item, result = json.loads(line)
        if result is None or result["worker_outcome"] == "skipped":
            continue
        total += 1
        if result["test_outcome"] == "survived":
            for mutation in work_item["mutations"]:
                survivors.append(f"{mutation['module_path']}:{mutation['start_pos'][0]} "
                                 f"{mutation['operator_name']} (occurrence "
                                 f"{mutation['occurrence']})")
    return total, total - len(survivors), survivors


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="modules to mutate (default: all)")
    parser.add_argument("--sample", type=int, help="mutate only this many random mutants "
                                                   "per module")
    options = parser.parse_args(argv)
    modules = options.modules or list(TARGETS)
    unknown = [m for m in modules if m not in TARGETS]
    if unknown:
        raise SystemExit(f"no targeted tests known for {unknown}; add them to TARGETS")
    files = run(["git", "ls-files", "-co", "--exclude-standard"], ROOT).stdout.split()
    scratch = Path(tempfile.mkdtemp(prefix="chatwidget-mutation-"))
    try:
        for path in files:
            target = scratch / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if (ROOT / path).is_file():
                shutil.copy2(ROOT / path, target)
        grand_total = grand_killed = 0
        for module in modules:
            total, killed, survivors = mutate(module, scratch, options.sample)
            grand_total, grand_killed = grand_total + total, grand_killed + killed
            rate = 100 * killed / total if total else 100.0
            print(f"{module}: {killed}/{total} killed ({rate:.1f} %)", flush=True)
            for survivor in survivors:
                print(f"  survived: {survivor}", flush=True)
        rate = 100 * grand_killed / grand_total if grand_total else 100.0
        print(f"TOTAL: {grand_killed}/{grand_total} killed ({rate:.1f} %)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
