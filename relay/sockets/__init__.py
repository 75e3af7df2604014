"""The relay's two routed sockets and what they share (see relay.hub for the registry)."""

from relay.sockets.app import AppSocket
from relay.sockets.base import RelaySocket
from relay.sockets.instance import InstanceSocket

__all__ = ["AppSocket", "InstanceSocket", "RelaySocket"]
