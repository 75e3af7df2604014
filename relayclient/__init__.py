"""The reference Relay client: pair with a home instance, then call it end-to-end encrypted.

Framework-free (no Django): a library (``RelayClient``) and a command (``python -m relayclient``).
"""

from relayclient.calls import EventStream, Response, WebSocket
from relayclient.client import PairOutcome, RelayClient
from relayclient.errors import ClientError
from relayclient.sse import SSEEvent
from relayclient.state import ClientState, Server, StateFile

__all__ = [
    "ClientError",
    "ClientState",
    "EventStream",
    "PairOutcome",
    "RelayClient",
    "Response",
    "SSEEvent",
    "Server",
    "StateFile",
    "WebSocket",
]
