"""Settings for a demo site whose widget waits for consent (CHATWIDGET["REQUIRE_CONSENT"])."""

import os

from project.settings import *  # noqa: F403
from project.settings import CHATWIDGET

CHATWIDGET = {**CHATWIDGET, "REQUIRE_CONSENT": True,
              # "0": consent is the page's alone (its cookie banner), never the launcher's.
              "CONSENT_ON_OPEN": os.environ.get("CHATWIDGET_TEST_CONSENT_ON_OPEN", "1") == "1"}
