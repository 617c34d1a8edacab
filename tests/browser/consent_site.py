"""Settings for a demo site whose widget waits for consent (CHATWIDGET["REQUIRE_CONSENT"])."""

from project.settings import *  # noqa: F403
from project.settings import CHATWIDGET

CHATWIDGET = {**CHATWIDGET, "REQUIRE_CONSENT": True}
