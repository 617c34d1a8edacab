"""The demo settings for the Schemathesis run: throttles lifted, nothing else changed.

Schemathesis sends hundreds of requests a minute from one address and one contact; the
throttles would answer most of them with a (documented, schema-conformant) 429 and leave
the rest of the API untested. The throttles have their own tests (tests/api/test_throttles.py).
"""

from chatwidget.conf import DEFAULTS
from project.settings import *  # noqa: F403

CHATWIDGET = {
    **CHATWIDGET,  # noqa: F405
    "THROTTLE_RATES": dict.fromkeys(DEFAULTS["THROTTLE_RATES"]),
    "RATE_LIMIT_MESSAGES": 1_000_000,
}
