"""Events the stream multiplexer (relayproto.streams) reports to the application glue."""

from __future__ import annotations

from dataclasses import dataclass

from relayproto.inner import CloseCode, Headers, PairStatus, ResetCode, StreamKind


class Event:
    """Base of every multiplexer event."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class StreamOpened(Event):
    """The phone opened a stream with this request head (instance side)."""

    stream_id: int
    kind: StreamKind
    method: str
    path: str
    headers: Headers
    end_stream: bool


@dataclass(frozen=True, slots=True)
class ResponseReceived(Event):
    """The instance answered a stream with this head (phone side); 101 accepts a WebSocket."""

    stream_id: int
    status: int
    headers: Headers
    end_stream: bool


@dataclass(frozen=True, slots=True)
class DataReceived(Event):
    """A body chunk; call ``acknowledge(stream_id, len(data))`` once it has been consumed."""

    stream_id: int
    data: bytes


@dataclass(frozen=True, slots=True)
class WebSocketMessageReceived(Event):
    """A WebSocket message fragment; ``final`` ends the message. Acknowledge like DATA."""

    stream_id: int
    data: bytes
    text: bool
    final: bool


@dataclass(frozen=True, slots=True)
class TrailersReceived(Event):
    """Trailing headers; a StreamEnded follows."""

    stream_id: int
    headers: Headers


@dataclass(frozen=True, slots=True)
class WebSocketClosed(Event):
    """The peer sent its WebSocket close frame; a StreamEnded follows."""

    stream_id: int
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class StreamEnded(Event):
    """The peer's direction of the stream is complete: everything it sent was delivered."""

    stream_id: int


@dataclass(frozen=True, slots=True)
class StreamReset(Event):
    """The stream was aborted: by the peer (``remote``) or because the channel went away."""

    stream_id: int
    code: ResetCode
    message: str
    remote: bool


@dataclass(frozen=True, slots=True)
class WindowUpdated(Event):
    """The peer granted more send credit on a stream (or the channel, stream_id 0)."""

    stream_id: int
    increment: int


@dataclass(frozen=True, slots=True)
class PongReceived(Event):
    """The peer answered one of our PINGs."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class PairConfirmReceived(Event):
    """The phone named itself after a pairing handshake (instance side)."""

    device_name: str
    platform: str


@dataclass(frozen=True, slots=True)
class PairResultReceived(Event):
    """The instance reported the pairing outcome (phone side)."""

    status: PairStatus


@dataclass(frozen=True, slots=True)
class ChannelClosed(Event):
    """The peer sent the encrypted CLOSE: a clean end of the channel."""

    code: CloseCode
    message: str


@dataclass(frozen=True, slots=True)
class ConnectionTerminated(Event):
    """The transport is gone; ``truncated`` when no CLOSE was exchanged (data may be lost)."""

    truncated: bool
