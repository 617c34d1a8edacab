"""System checks (ids chatwidget.E001…, W001…); listed with their hints in docs/checks.md."""
