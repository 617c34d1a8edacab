"""The settings of the Schemathesis run: no throttles, and room for attributes.

``MAX_ATTRIBUTES`` counts the attributes earlier requests stored on the contact or
conversation, which no schema can state; over a run of random requests the stored set
grows until a valid request is refused. The limit itself is tested in
tests/api/test_attributes.py.
"""

from tests.settings_no_throttles import *  # noqa: F403

CHATWIDGET = {**CHATWIDGET, "MAX_ATTRIBUTES": 100_000}  # noqa: F405
