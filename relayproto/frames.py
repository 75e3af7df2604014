"""Outer frames: the binary WebSocket messages the relay sees, routes and bounds.

Layout (big-endian, 12-byte header, then the payload)::

    offset  size  field
    0       1     version        PROTOCOL_VERSION (1)
    1       1     type           FrameType
    2       2     flags          reserved, must be 0 in version 1
    4       4     channel_id     u32; 0 means "the socket itself"
    8       4     payload_len    u32; must equal len(message) - 12

Every FrameError raised here carries a ``code`` that is an ErrorCode value, so the relay can
answer with ``ErrorCode(exc.code)`` and the matching WebSocket close code without a lookup table.
Control payloads (JSON) live in ``relayproto.control``; this module only does the header, the
size rules and the tiny binary payloads (CREDIT, PING, PONG).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Final

from relayproto import PROTOCOL_VERSION
from relayproto.errors import FrameError

HEADER: Final = struct.Struct("!BBHII")
HEADER_SIZE: Final = HEADER.size  # 12
DEFAULT_MAX_PAYLOAD: Final = 1024 * 1024
MAX_CONTROL_PAYLOAD: Final = 4096
PING_PAYLOAD_SIZE: Final = 8
CREDIT_PAYLOAD_SIZE: Final = 4
MAX_CHANNEL_ID: Final = 0xFFFF_FFFF
MAX_WINDOW: Final = 0x7FFF_FFFF
DEFAULT_CHANNEL_WINDOW: Final = 4 * 1024 * 1024

_U32: Final = struct.Struct("!I")


class FrameType(IntEnum):
    """Outer frame types; the numbers are part of the wire format and never change."""

    REGISTER = 0x01
    REGISTER_ACK = 0x02
    CONNECT = 0x03
    CONNECT_ACK = 0x04
    OPEN = 0x05
    CLOSE = 0x06
    ROUTES = 0x07
    DATA = 0x10
    CREDIT = 0x11
    PING = 0x20
    PONG = 0x21
    ERROR = 0x30
    DRAIN = 0x31


class ErrorCode(StrEnum):
    """Machine-readable error codes carried in ERROR frames and CLOSE reasons."""

    LICENSE_INVALID = "LICENSE_INVALID"
    LICENSE_EXPIRED = "LICENSE_EXPIRED"
    FEATURE_MISSING = "FEATURE_MISSING"
    LICENSE_REVOKED = "LICENSE_REVOKED"
    UNAUTHORIZED = "UNAUTHORIZED"
    RATE_LIMITED = "RATE_LIMITED"
    DUPLICATE_INSTANCE = "DUPLICATE_INSTANCE"
    SERVER_DRAINING = "SERVER_DRAINING"
    INSTANCE_OFFLINE = "INSTANCE_OFFLINE"
    CHANNEL_LIMIT_REACHED = "CHANNEL_LIMIT_REACHED"
    CHANNEL_REFUSED = "CHANNEL_REFUSED"
    ROUTING_UNAVAILABLE = "ROUTING_UNAVAILABLE"
    RELAY_OVERLOADED = "RELAY_OVERLOADED"
    FRAME_TOO_LARGE = "FRAME_TOO_LARGE"
    MALFORMED_FRAME = "MALFORMED_FRAME"
    UNSUPPORTED_VERSION = "UNSUPPORTED_VERSION"
    WINDOW_EXCEEDED = "WINDOW_EXCEEDED"
    HANDSHAKE_TIMEOUT = "HANDSHAKE_TIMEOUT"
    IDLE_TIMEOUT = "IDLE_TIMEOUT"
    OUTPUT_STALLED = "OUTPUT_STALLED"
    INTERNAL = "INTERNAL"


WS_CLOSE_CODES: Final[dict[ErrorCode, int]] = {
    ErrorCode.INTERNAL: 4000,
    ErrorCode.LICENSE_INVALID: 4001,
    ErrorCode.LICENSE_EXPIRED: 4002,
    ErrorCode.FEATURE_MISSING: 4003,
    ErrorCode.LICENSE_REVOKED: 4004,
    ErrorCode.UNAUTHORIZED: 4005,
    ErrorCode.RATE_LIMITED: 4010,
    ErrorCode.DUPLICATE_INSTANCE: 4011,
    ErrorCode.SERVER_DRAINING: 4012,
    ErrorCode.INSTANCE_OFFLINE: 4013,
    ErrorCode.CHANNEL_LIMIT_REACHED: 4014,
    ErrorCode.CHANNEL_REFUSED: 4015,
    ErrorCode.ROUTING_UNAVAILABLE: 4016,
    ErrorCode.RELAY_OVERLOADED: 4017,
    ErrorCode.FRAME_TOO_LARGE: 4020,
    ErrorCode.MALFORMED_FRAME: 4021,
    ErrorCode.UNSUPPORTED_VERSION: 4022,
    ErrorCode.WINDOW_EXCEEDED: 4023,
    ErrorCode.HANDSHAKE_TIMEOUT: 4030,
    ErrorCode.IDLE_TIMEOUT: 4031,
    ErrorCode.OUTPUT_STALLED: 4032,
}
"""WebSocket close code (4000-4999; daphne refuses 1013) for each error that ends a socket."""

_ERROR_BY_CLOSE_CODE: Final = {code: error for error, code in WS_CLOSE_CODES.items()}


def error_for_close_code(close_code: int) -> ErrorCode | None:
    """Return the ErrorCode behind a 4xxx WebSocket close code, or None if it is not ours."""
    return _ERROR_BY_CLOSE_CODE.get(close_code)


# Which frames belong to the socket (channel 0) and which to a channel (non-zero id): checking
# it in the header lets the relay route without ever looking at a payload.
SOCKET_FRAME_TYPES: Final = frozenset(
    {
        FrameType.REGISTER,
        FrameType.REGISTER_ACK,
        FrameType.ROUTES,
        FrameType.CONNECT,
        FrameType.PING,
        FrameType.PONG,
        FrameType.ERROR,
        FrameType.DRAIN,
    }
)
CHANNEL_FRAME_TYPES: Final = frozenset(set(FrameType) - SOCKET_FRAME_TYPES)
CONTROL_FRAME_TYPES: Final = frozenset(
    set(FrameType) - {FrameType.DATA, FrameType.CREDIT, FrameType.PING, FrameType.PONG}
)

# Plain dicts keyed by int: the hot path avoids enum construction and set lookups by enum.
_TYPE_BY_NUMBER: Final[dict[int, FrameType]] = {int(t): t for t in FrameType}
_NEEDS_CHANNEL: Final[dict[int, bool]] = {int(t): t in CHANNEL_FRAME_TYPES for t in FrameType}
_EXACT_SIZE: Final[dict[int, int]] = {
    FrameType.CREDIT: CREDIT_PAYLOAD_SIZE,
    FrameType.PING: PING_PAYLOAD_SIZE,
    FrameType.PONG: PING_PAYLOAD_SIZE,
}
_CONTROL_NUMBERS: Final = frozenset(int(t) for t in CONTROL_FRAME_TYPES)


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded outer frame; ``payload`` is a view into the decoded buffer, not a copy."""

    type: FrameType
    channel_id: int
    payload: memoryview


def _malformed(message: str) -> FrameError:
    return FrameError(message, code=ErrorCode.MALFORMED_FRAME)


def _check_type_and_channel(type_number: int, channel_id: int) -> FrameType:
    frame_type = _TYPE_BY_NUMBER.get(type_number)
    if frame_type is None:
        raise _malformed(f"unknown frame type 0x{type_number:02x}")
    if _NEEDS_CHANNEL[type_number]:
        if channel_id == 0:
            raise _malformed(f"{frame_type.name} needs a non-zero channel id")
    elif channel_id != 0:
        raise _malformed(f"{frame_type.name} must use channel id 0")
    return frame_type


def _check_payload_size(frame_type: FrameType, payload_len: int, max_payload: int) -> None:
    if payload_len > max_payload:
        raise FrameError(
            f"payload of {payload_len} bytes exceeds the limit of {max_payload}",
            code=ErrorCode.FRAME_TOO_LARGE,
        )
    exact = _EXACT_SIZE.get(frame_type)
    if exact is not None:
        if payload_len != exact:
            raise _malformed(f"{frame_type.name} payload must be {exact} bytes, not {payload_len}")
    elif frame_type in _CONTROL_NUMBERS and payload_len > MAX_CONTROL_PAYLOAD:
        raise FrameError(
            f"{frame_type.name} payload of {payload_len} bytes exceeds {MAX_CONTROL_PAYLOAD}",
            code=ErrorCode.FRAME_TOO_LARGE,
        )


def _read_header(
    data: bytes | bytearray | memoryview, max_payload: int
) -> tuple[FrameType, int, int]:
    size = len(data)
    if size and data[0] != PROTOCOL_VERSION:
        raise FrameError(
            f"frame version {data[0]} is not supported (want {PROTOCOL_VERSION})",
            code=ErrorCode.UNSUPPORTED_VERSION,
        )
    if size < HEADER_SIZE:
        raise _malformed(f"frame of {size} bytes is shorter than the {HEADER_SIZE}-byte header")
    _version, type_number, flags, channel_id, payload_len = HEADER.unpack_from(data)
    frame_type = _check_type_and_channel(type_number, channel_id)
    if flags:
        raise _malformed(f"reserved flags 0x{flags:04x} must be 0")
    _check_payload_size(frame_type, payload_len, max_payload)
    if size - HEADER_SIZE != payload_len:
        if size - HEADER_SIZE > max_payload:
            raise FrameError(
                f"frame of {size} bytes exceeds the limit", code=ErrorCode.FRAME_TOO_LARGE
            )
        raise _malformed(f"header says {payload_len} payload bytes, frame has {size - HEADER_SIZE}")
    return frame_type, channel_id, payload_len


def peek_header(
    data: bytes | bytearray | memoryview, max_payload: int = DEFAULT_MAX_PAYLOAD
) -> tuple[FrameType, int, int]:
    """Validate a whole frame's header and sizes without touching or copying its payload."""
    return _read_header(data, max_payload)


def decode_frame(
    data: bytes | bytearray | memoryview, max_payload: int = DEFAULT_MAX_PAYLOAD
) -> Frame:
    """Decode one WebSocket binary message into a Frame or raise FrameError."""
    frame_type, channel_id, _ = _read_header(data, max_payload)
    view = data if isinstance(data, memoryview) else memoryview(data)
    return Frame(frame_type, channel_id, view[HEADER_SIZE:])


def _checked_header_fields(
    frame_type: int, channel_id: int, payload_len: int, max_payload: int
) -> FrameType:
    if not 0 <= channel_id <= MAX_CHANNEL_ID:
        raise _malformed(f"channel id {channel_id} is not a u32")
    checked = _check_type_and_channel(frame_type, channel_id)
    _check_payload_size(checked, payload_len, max_payload)
    return checked


def encode_header(
    frame_type: int, channel_id: int, payload_len: int, max_payload: int = DEFAULT_MAX_PAYLOAD
) -> bytes:
    """Return the 12-byte header for a payload the caller sends right after it."""
    _checked_header_fields(frame_type, channel_id, payload_len, max_payload)
    return HEADER.pack(PROTOCOL_VERSION, frame_type, 0, channel_id, payload_len)


def pack_header_into(
    buffer: bytearray | memoryview,
    offset: int,
    frame_type: int,
    channel_id: int,
    payload_len: int,
    max_payload: int = DEFAULT_MAX_PAYLOAD,
) -> None:
    """Write a header into a reused buffer, so a sender can fill the payload in place."""
    _checked_header_fields(frame_type, channel_id, payload_len, max_payload)
    HEADER.pack_into(buffer, offset, PROTOCOL_VERSION, frame_type, 0, channel_id, payload_len)


def encode_frame(
    frame_type: int,
    channel_id: int,
    payload: bytes | bytearray | memoryview,
    max_payload: int = DEFAULT_MAX_PAYLOAD,
) -> bytes:
    """Encode one frame: header plus payload, one copy of the payload and O(1) checks."""
    size = len(payload)
    _checked_header_fields(frame_type, channel_id, size, max_payload)
    return HEADER.pack(PROTOCOL_VERSION, frame_type, 0, channel_id, size) + payload


def encode_credit(channel_id: int, increment: int) -> bytes:
    """Encode a CREDIT frame granting ``increment`` more DATA payload bytes on a channel."""
    if not 1 <= increment <= MAX_WINDOW:
        raise _malformed(f"credit increment {increment} is outside 1..{MAX_WINDOW}")
    return encode_frame(FrameType.CREDIT, channel_id, _U32.pack(increment))


def decode_credit(payload: bytes | bytearray | memoryview) -> int:
    """Decode a CREDIT payload into its byte increment (1..2**31-1)."""
    if len(payload) != CREDIT_PAYLOAD_SIZE:
        raise _malformed(f"CREDIT payload must be {CREDIT_PAYLOAD_SIZE} bytes")
    (increment,) = _U32.unpack(payload)
    if not 1 <= increment <= MAX_WINDOW:
        raise _malformed(f"credit increment {increment} is outside 1..{MAX_WINDOW}")
    return increment


def encode_ping(payload: bytes, *, pong: bool = False) -> bytes:
    """Encode a socket-level PING (or PONG, echoing the ping's 8 opaque bytes)."""
    if len(payload) != PING_PAYLOAD_SIZE:
        raise _malformed(f"PING/PONG payload must be {PING_PAYLOAD_SIZE} bytes")
    return encode_frame(FrameType.PONG if pong else FrameType.PING, 0, payload)


def decode_ping(payload: bytes | bytearray | memoryview) -> bytes:
    """Decode a PING/PONG payload into its 8 opaque bytes."""
    if len(payload) != PING_PAYLOAD_SIZE:
        raise _malformed(f"PING/PONG payload must be {PING_PAYLOAD_SIZE} bytes")
    return bytes(payload)
