"""The one exception family of the reference client: a stable code, a message naming the fix."""

from __future__ import annotations


class ClientError(Exception):
    """Any failure the client reports; ``code`` is stable and machine-readable."""

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # The HTTP status, when the instance answered but not with what the call needed.
        self.status = status

    def __str__(self) -> str:
        """``CODE: message``, as the command line prints it."""
        return f"{self.code}: {self.message}"


# Stable codes, one constant each so callers need not spell strings.
PAIRING_LINK_INVALID = "PAIRING_LINK_INVALID"
PAIRING_EXPIRED = "PAIRING_EXPIRED"
PAIRING_USED = "PAIRING_USED"
PAIRING_REFUSED = "PAIRING_REFUSED"
PAIRING_INCOMPLETE = "PAIRING_INCOMPLETE"
QR_UNREADABLE = "QR_UNREADABLE"
DEVICE_REVOKED = "DEVICE_REVOKED"
UNKNOWN_DEVICE = "UNKNOWN_DEVICE"
DEVICE_PENDING = "DEVICE_PENDING"
RELAY_UNREACHABLE = "RELAY_UNREACHABLE"
INSTANCE_OFFLINE = "INSTANCE_OFFLINE"
INSTANCE_KEY_MISMATCH = "INSTANCE_KEY_MISMATCH"
NOT_PAIRED = "NOT_PAIRED"
SERVER_AMBIGUOUS = "SERVER_AMBIGUOUS"
ALIAS_IN_USE = "ALIAS_IN_USE"
STATE_INVALID = "STATE_INVALID"
INVALID_ARGUMENT = "INVALID_ARGUMENT"
CHANNEL_CLOSED = "CHANNEL_CLOSED"
CHANNEL_LOST = "CHANNEL_LOST"
STREAM_RESET = "STREAM_RESET"
HTTP_STATUS = "HTTP_STATUS"
BODY_TOO_LARGE = "BODY_TOO_LARGE"
NOT_EVENT_STREAM = "NOT_EVENT_STREAM"
EVENT_TOO_LARGE = "EVENT_TOO_LARGE"
WEBSOCKET_REFUSED = "WEBSOCKET_REFUSED"
PROTOCOL_FAILURE = "PROTOCOL_FAILURE"

# Failures that mean the channel (or its socket) died under a call, not that the instance said
# no: a retry over a fresh channel may well succeed.
CHANNEL_DIED = frozenset({CHANNEL_LOST, RELAY_UNREACHABLE})
