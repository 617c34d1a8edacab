#!/usr/bin/env python
"""Run the whole test suite: the main pytest run, then the browser run in its own process.

    python runtests.py                  # both runs; exit non-zero if either fails
    python runtests.py --only main      # unit, api, channels, scale-out, bench smoke
    python runtests.py --only browser   # Playwright against a live server (tests/browser)
    python runtests.py -- -x -k logout  # anything after -- goes to every pytest run

The browser tests get their own process because they drive a live ASGI server on a
file-based database, which must not share a process (or an event loop, or a test
database) with the pytest-django tests. README's test command and .ci/run both call this
file, so what CI runs is what a developer runs.

pytest exits 5 when it collected nothing. That is a failure for the main run (the suite
would have tested nothing) and for the browser run once tests/browser has test files; only
a checkout without any browser tests yet skips that run, and says so. With arguments after
``--`` (a -k filter, a single file) an empty run is just "nothing matched".
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
BROWSER_DIR = ROOT / "tests" / "browser"
NO_TESTS_COLLECTED = 5
TIMED_OUT = 124  # what coreutils' timeout returns

# Whole-run limits, so a hung server or browser fails CI with a message instead of
# running into CI's 90-minute wall. Minutes; override with CHATWIDGET_MAIN_RUN_TIMEOUT and
# CHATWIDGET_BROWSER_RUN_TIMEOUT.
RUN_TIMEOUTS = {"main": 40, "browser": 30}
# Per-test limit when pytest-timeout is installed (it is in the `test` extra).
TEST_TIMEOUT = int(os.environ.get("CHATWIDGET_TEST_TIMEOUT", "300"))


def pytest_command(run: str, extra: list[str]) -> list[str]:
    command = [sys.executable, "-m", "pytest"]
    if importlib.util.find_spec("pytest_timeout") and not any(
        arg.startswith("--timeout") for arg in extra
    ):
        command.append(f"--timeout={TEST_TIMEOUT}")
    browser_dir = str(BROWSER_DIR.relative_to(ROOT))
    if run == "main":
        command.append(f"--ignore={browser_dir}")
    # Paths given after -- replace the run's default selection.
    if not any(_is_path(arg) for arg in extra):
        command.append("tests" if run == "main" else browser_dir)
    return command + extra


def _is_path(arg: str) -> bool:
    return not arg.startswith("-") and (ROOT / arg.split("::")[0]).exists()


def has_browser_tests() -> bool:
    return BROWSER_DIR.is_dir() and any(BROWSER_DIR.rglob("test_*.py"))


def run_pytest(run: str, extra: list[str]) -> int:
    command = pytest_command(run, extra)
    minutes = float(os.environ.get(f"CHATWIDGET_{run.upper()}_RUN_TIMEOUT", RUN_TIMEOUTS[run]))
    print(f"\n=== runtests: {run} run: {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    # A session of its own, so a timeout can end the servers and browsers pytest started.
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
    try:
        code = process.wait(timeout=minutes * 60)
    except subprocess.TimeoutExpired:
        print(f"\n=== runtests: {run} run exceeded {minutes} min; stopping it", flush=True)
        _stop(process)
        return TIMED_OUT
    except KeyboardInterrupt:
        _stop(process)
        raise
    print(f"=== runtests: {run} run exited {code} after {time.monotonic() - started:.0f} s")
    return code


def _stop(process: subprocess.Popen) -> None:
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["main", "browser"], help="run just one of the runs")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (put them after --)")
    options = parser.parse_args(argv)

    runs = [options.only] if options.only else ["main", "browser"]
    paths = [arg for arg in options.pytest_args if _is_path(arg)]
    if paths and not options.only:
        # Named test files decide which of the two runs they belong to.
        browser = all(
            (ROOT / p.split("::")[0]).resolve().is_relative_to(BROWSER_DIR) for p in paths
        )
        runs = ["browser"] if browser else ["main"]
    results: dict[str, str] = {}
    failed = False
    for run in runs:
        if run == "browser" and not has_browser_tests():
            results[run] = "skipped (tests/browser has no test files in this checkout)"
            continue
        code = run_pytest(run, options.pytest_args)
        if code == NO_TESTS_COLLECTED and options.pytest_args:
            results[run] = "no tests matched the given arguments"
        elif code == NO_TESTS_COLLECTED:
            results[run] = "FAILED (pytest collected no tests)"
            failed = True
        elif code == TIMED_OUT:
            results[run] = "FAILED (timed out; see CHATWIDGET_*_RUN_TIMEOUT)"
            failed = True
        elif code != 0:
            results[run] = f"FAILED (pytest exit code {code})"
            failed = True
        else:
            results[run] = "passed"
    print("\n=== runtests summary")
    for run, result in results.items():
        print(f"    {run:<8} {result}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
