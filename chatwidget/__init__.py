"""chatwidget: an identity-linked support chat for Django sites."""

__version__ = "0.1.0"
