"""The demo site's settings as the benchmark serves them.

Everything the app does is unchanged; only what would distort a measurement differs:
``DEBUG`` is off (Django would otherwise keep every SQL query in memory), the URLconf adds
the bare view P3 compares against, and the message rate limit and the REST throttles are
lifted so the ladder and the HTTP phase measure capacity rather than the limiter.
"""

import os

from chatwidget.conf import DEFAULTS
from project.settings import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "bench.urls"
CHATWIDGET = {
    **CHATWIDGET,  # noqa: F405
    "RATE_LIMIT_MESSAGES": 1_000_000,
    # The HTTP phase pings and identifies from one address far faster than any visitor.
    "THROTTLE_RATES": dict.fromkeys(DEFAULTS["THROTTLE_RATES"]),
    "UPLOAD_QUOTA": 2**62,
}
# ``python -m bench --database-threads N``: the sockets' database pool, measured against
# the default (bench/README.md).
if os.environ.get("BENCH_DATABASE_THREADS"):
    CHATWIDGET["DATABASE_THREADS"] = int(os.environ["BENCH_DATABASE_THREADS"])
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "chatwidget": {"handlers": ["console"], "level": "WARNING"},
        # One record with its traceback per 5xx, which bench/serverlog.py reads back. Django's
        # default sends these to a console handler that only logs with DEBUG on.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
