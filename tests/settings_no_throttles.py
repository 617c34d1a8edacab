"""The demo settings with the throttles lifted, for live servers that tests drive hard.

A test session sends far more requests a minute from 127.0.0.1 than any visitor would
(every browser test loads pages, and every page load pings); under the default rates some
would get a (correct) 429 depending on how fast the machine is. The throttles have their
own tests (tests/api/test_throttles.py), which run with the defaults.
"""

from chatwidget.conf import DEFAULTS
from project.settings import *  # noqa: F403

CHATWIDGET = {
    **CHATWIDGET,  # noqa: F405
    "THROTTLE_RATES": dict.fromkeys(DEFAULTS["THROTTLE_RATES"]),
    "RATE_LIMIT_MESSAGES": 1_000_000,
}
