"""The one exception family the protocol library raises."""

from __future__ import annotations


class ProtocolError(Exception):
    """Any protocol failure; ``code`` is a stable machine-readable name."""

    code = "PROTOCOL_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class FrameError(ProtocolError):
    """An outer frame or control payload that cannot be decoded or is out of bounds."""

    code = "MALFORMED_FRAME"


class HandshakeError(ProtocolError):
    """A Noise handshake that failed: bad message, wrong key, wrong psk, bad state."""

    code = "HANDSHAKE_FAILED"


class RecordError(ProtocolError):
    """An encrypted record that failed to open, or a channel used after it closed."""

    code = "RECORD_FAILED"


class StreamError(ProtocolError):
    """An inner-protocol message that is malformed or breaks a stream's state machine."""

    code = "STREAM_ERROR"


class FlowControlError(StreamError):
    """A peer sent more than its credit window allowed."""

    code = "FLOW_CONTROL"
