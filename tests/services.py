"""Finding the real servers and browser the suite needs, or saying clearly why not.

With ``CHATWIDGET_REQUIRE_SERVICES=1`` (set by .ci/run) a missing one is a failure, so CI
can never pass by skipping; elsewhere it is a skip with the reason.
"""

from __future__ import annotations

import glob
import os
import shutil

import pytest

REQUIRED = os.environ.get("CHATWIDGET_REQUIRE_SERVICES") == "1"


def unavailable(what: str, why: str) -> None:
    message = f"{what} unavailable: {why}"
    if REQUIRED:
        pytest.fail(f"{message} (CHATWIDGET_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(message)


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium"):
        if candidate and os.path.exists(candidate):
            return candidate
    return shutil.which("chromium")


def redis_server_path() -> str | None:
    return shutil.which("redis-server")


def postgres_bin_dir() -> str | None:
    """Debian keeps initdb/pg_ctl out of PATH, under /usr/lib/postgresql/<major>/bin."""
    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(directory, "initdb")):
            return directory
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None
