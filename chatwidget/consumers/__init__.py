"""The chat's websocket consumers; docs/protocol.md is their contract."""

from .agent import AgentConsumer
from .visitor import VisitorConsumer

__all__ = ["AgentConsumer", "VisitorConsumer"]
