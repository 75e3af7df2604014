"""Inner protocol messages: the plaintext of exactly one encrypted record.

Every message is ``type u8 | stream_id u32 | body`` (big-endian), at most 65519 bytes in all.
Heads use a small binary encoding (length-prefixed fields, see docs/protocol.md); DATA and
WS_MESSAGE bodies are raw bytes. Decoders are strict: anything malformed raises
StreamError(code="MALFORMED_MESSAGE"), a message over 65519 bytes StreamError("TOO_LARGE").
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Final

from relayproto.errors import StreamError
from relayproto.inner_codec import (
    U8,
    U16,
    U32,
    Headers,
    Reader,
    check_flags,
    check_increment,
    check_method_path,
    check_pairing,
    check_status,
    check_ws_close_code,
    decode_text,
    encode_headers,
    encode_text,
    malformed,
    normalize_headers,
    to_enum,
)

MAX_MESSAGE: Final = 65519  # relayproto.records.MAX_PLAINTEXT
HEADER: Final = struct.Struct("!BI")
HEADER_SIZE: Final = HEADER.size  # 5
MAX_DATA_CHUNK: Final = MAX_MESSAGE - HEADER_SIZE  # 65514
MAX_WS_CHUNK: Final = MAX_DATA_CHUNK - 1  # 65513, after the flags byte
MAX_STREAM_ID: Final = 0xFFFF_FFFF
MAX_INCREMENT: Final = 0x7FFF_FFFF
MAX_REASON: Final = 1024
MAX_WS_CLOSE_REASON: Final = 123
PING_SIZE: Final = 8
TOO_LARGE: Final = "TOO_LARGE"

FLAG_END_STREAM: Final = 0x01
WS_FLAG_TEXT: Final = 0x01
WS_FLAG_MORE: Final = 0x02

_OPEN_FIXED: Final = struct.Struct("!BBB")  # flags, kind, method length
_HEAD_FIXED: Final = struct.Struct("!BH")  # flags, status


class MessageType(IntEnum):
    """Inner message types; the numbers are part of the wire format."""

    STREAM_OPEN = 0x01
    RESPONSE_HEAD = 0x02
    DATA = 0x03
    END = 0x04
    TRAILERS = 0x05
    WS_MESSAGE = 0x06
    WS_CLOSE = 0x07
    RESET = 0x08
    WINDOW_UPDATE = 0x09
    PING = 0x0A
    PONG = 0x0B
    PAIR_CONFIRM = 0x0C
    PAIR_RESULT = 0x0D
    CLOSE = 0x0E


class StreamKind(IntEnum):
    """What a stream carries: a plain HTTP exchange, a server-sent-event stream or a WebSocket."""

    HTTP = 1
    SSE = 2
    WEBSOCKET = 3


class ResetCode(IntEnum):
    """Why a stream was reset (RESET)."""

    CANCELLED = 1
    REFUSED = 2
    TIMEOUT = 3
    FLOW_CONTROL = 4
    PROTOCOL = 5
    UPSTREAM_ERROR = 6
    TOO_LARGE = 7
    RATE_LIMITED = 8
    INTERNAL = 9


class CloseCode(IntEnum):
    """Why a channel was closed (inner, encrypted CLOSE)."""

    NORMAL = 0
    PROTOCOL_ERROR = 1
    FLOW_CONTROL = 2
    IDLE_TIMEOUT = 3
    SHUTDOWN = 4
    DEVICE_REVOKED = 5
    INTERNAL = 6


class PairStatus(IntEnum):
    """Outcome of a pairing as the instance reports it to the phone (PAIR_RESULT)."""

    PENDING = 1
    ACTIVE = 2
    REFUSED = 3


class InnerMessage:
    """Base of every inner message: ``TYPE`` is its wire type; ``stream_id`` 0 is the channel."""

    __slots__ = ()
    TYPE: ClassVar[MessageType]
    STREAM_SCOPED: ClassVar[bool] = True
    stream_id: int

    def body(self) -> bytes:
        """Encode the body (everything after the 5-byte header)."""
        return b""


class _WithHeaders:
    """Mixin: accept any [name, value] pairs and store them normalised (lowercase names)."""

    __slots__ = ()

    def __post_init__(self) -> None:
        headers: Iterable[Sequence[str]] = self.headers  # type: ignore[attr-defined]
        object.__setattr__(self, "headers", normalize_headers(headers))


@dataclass(frozen=True, slots=True)
class StreamOpen(_WithHeaders, InnerMessage):
    """STREAM_OPEN: phone → instance, opens a stream with its request head."""

    stream_id: int
    kind: StreamKind
    method: str
    path: str
    headers: Headers = ()
    end_stream: bool = False
    TYPE: ClassVar[MessageType] = MessageType.STREAM_OPEN

    def body(self) -> bytes:
        """Encode flags, kind, method, path and headers."""
        try:
            method = self.method.encode("ascii")
            path = self.path.encode("ascii")
        except (UnicodeEncodeError, AttributeError):
            raise malformed("method and path must be ASCII") from None
        check_method_path(method, path)
        kind = to_enum(StreamKind, self.kind, "stream kind")
        flags = FLAG_END_STREAM if self.end_stream else 0
        fixed = _OPEN_FIXED.pack(flags, kind, len(method))
        return b"".join((fixed, method, U16.pack(len(path)), path, encode_headers(self.headers)))

    @classmethod
    def parse(cls, sid: int, reader: Reader) -> StreamOpen:
        """Decode a STREAM_OPEN body."""
        flags, kind, method_len = reader.unpack(_OPEN_FIXED)
        method = reader.take(method_len)
        path = reader.take(reader.u16())
        headers = reader.headers()
        check_flags(flags, FLAG_END_STREAM)
        check_method_path(method, path)
        kind_value = to_enum(StreamKind, kind, "stream kind")
        end = bool(flags & FLAG_END_STREAM)
        return cls(sid, kind_value, method.decode("ascii"), path.decode("ascii"), headers, end)


@dataclass(frozen=True, slots=True)
class ResponseHead(_WithHeaders, InnerMessage):
    """RESPONSE_HEAD: instance → phone, the response status and headers."""

    stream_id: int
    status: int
    headers: Headers = ()
    end_stream: bool = False
    TYPE: ClassVar[MessageType] = MessageType.RESPONSE_HEAD

    def body(self) -> bytes:
        """Encode flags, status and headers."""
        check_status(self.status)
        flags = FLAG_END_STREAM if self.end_stream else 0
        return _HEAD_FIXED.pack(flags, self.status) + encode_headers(self.headers)

    @classmethod
    def parse(cls, sid: int, reader: Reader) -> ResponseHead:
        """Decode a RESPONSE_HEAD body."""
        flags, status = reader.unpack(_HEAD_FIXED)
        headers = reader.headers()
        check_flags(flags, FLAG_END_STREAM)
        check_status(status)
        return cls(sid, status, headers, bool(flags & FLAG_END_STREAM))


@dataclass(frozen=True, slots=True)
class Data(InnerMessage):
    """DATA: a raw body chunk; counts against the stream and channel windows."""

    stream_id: int
    data: bytes
    TYPE: ClassVar[MessageType] = MessageType.DATA

    def body(self) -> bytes:
        """The raw chunk."""
        return self.data


@dataclass(frozen=True, slots=True)
class End(InnerMessage):
    """END: the sender will send nothing more on this stream (half-close)."""

    stream_id: int
    TYPE: ClassVar[MessageType] = MessageType.END

    @classmethod
    def parse(cls, sid: int, reader: Reader) -> End:
        """END has an empty body."""
        return cls(sid)


@dataclass(frozen=True, slots=True)
class Trailers(_WithHeaders, InnerMessage):
    """TRAILERS: trailing headers; also ends the sender's direction like END."""

    stream_id: int
    headers: Headers
    TYPE: ClassVar[MessageType] = MessageType.TRAILERS

    def body(self) -> bytes:
        """Encode the header block."""
        return encode_headers(self.headers)

    @classmethod
    def parse(cls, sid: int, reader: Reader) -> Trailers:
        """Decode a header block."""
        return cls(sid, reader.headers())


@dataclass(frozen=True, slots=True)
class WsMessage(InnerMessage):
    """WS_MESSAGE: a WebSocket message or fragment (``more``: it continues in the next one)."""

    stream_id: int
    data: bytes
    text: bool = False
    more: bool = False
    TYPE: ClassVar[MessageType] = MessageType.WS_MESSAGE

    def body(self) -> bytes:
        """Encode the flags byte and the raw bytes."""
        flags = (WS_FLAG_TEXT if self.text else 0) | (WS_FLAG_MORE if self.more else 0)
        return U8.pack(flags) + self.data

    @classmethod
    def parse(cls, sid: int, reader: Reader) -> WsMessage:
        """Decode flags then take the rest as data."""
        flags = reader.u8()
        check_flags(flags, WS_FLAG_TEXT | WS_FLAG_MORE)
        return cls(sid, reader.rest(), bool(flags & WS_FLAG_TEXT), bool(flags & WS_FLAG_MORE))


@dataclass(frozen=True, slots=True)
class WsClose(InnerMessage):
    """WS_CLOSE: one direction's WebSocket close frame (code and UTF-8 reason)."""

    stream_id: int
    code: int = 1000
    reason: str = ""
    TYPE: ClassVar[MessageType] = MessageType.WS_CLOSE

    def body(self) -> bytes:
        """Encode code and reason."""
        check_ws_close_code(self.code)
        return U16.pack(self.code) + encode_text(self.reason, "close reason", MAX_WS_CLOSE_REASON)

    @classmethod
    def parse(cls, sid: int, reader: Reader) -> WsClose:
        """Decode code and reason."""
        code = reader.u16()
        check_ws_close_code(code)
        return cls(sid, code, decode_text(reader.rest(), "close reason", MAX_WS_CLOSE_REASON))


@dataclass(frozen=True, slots=True)
class Reset(InnerMessage):
    """RESET: abort a stream in both directions with a reason."""

    stream_id: int
    code: ResetCode
    message: str = ""
    TYPE: ClassVar[MessageType] = MessageType.RESET

    def body(self) -> bytes:
        """Encode code and message."""
        code = to_enum(ResetCode, self.code, "reset code")
        return U16.pack(code) + encode_text(self.message, "reset message", MAX_REASON)

    @classmethod
    def parse(cls, sid: int, reader: Reader) -> Reset:
        """Decode code and message."""
        code = to_enum(ResetCode, reader.u16(), "reset code")
        return cls(sid, code, decode_text(reader.rest(), "reset message", MAX_REASON))


@dataclass(frozen=True, slots=True)
class WindowUpdate(InnerMessage):
    """WINDOW_UPDATE: grant more bytes on a stream, or on the whole channel when stream_id is 0."""

    stream_id: int
    increment: int
    TYPE: ClassVar[MessageType] = MessageType.WINDOW_UPDATE

    def body(self) -> bytes:
        """Encode the u32 increment."""
        check_increment(self.increment, MAX_INCREMENT)
        return U32.pack(self.increment)

    @classmethod
    def parse(cls, sid: int, reader: Reader) -> WindowUpdate:
        """Decode the increment."""
        (increment,) = reader.unpack(U32)
        check_increment(increment, MAX_INCREMENT)
        return cls(sid, increment)


def _ping_body(payload: bytes) -> bytes:
    if not isinstance(payload, bytes) or len(payload) != PING_SIZE:
        raise malformed(f"ping payload must be {PING_SIZE} bytes")
    return payload


@dataclass(frozen=True, slots=True)
class Ping(InnerMessage):
    """PING: 8 opaque bytes the peer echoes in a PONG (end-to-end liveness)."""

    payload: bytes
    TYPE: ClassVar[MessageType] = MessageType.PING
    STREAM_SCOPED: ClassVar[bool] = False
    stream_id: ClassVar[int] = 0

    def body(self) -> bytes:
        """The 8 bytes."""
        return _ping_body(self.payload)

    @classmethod
    def parse(cls, sid: int, reader: Reader) -> Ping:
        """Take exactly 8 bytes."""
        return cls(reader.take(PING_SIZE))


@dataclass(frozen=True, slots=True)
class Pong(InnerMessage):
    """PONG: the answer to a PING, echoing its 8 bytes."""

    payload: bytes
    TYPE: ClassVar[MessageType] = MessageType.PONG
    STREAM_SCOPED: ClassVar[bool] = False
    stream_id: ClassVar[int] = 0

    def body(self) -> bytes:
        """The 8 bytes."""
        return _ping_body(self.payload)

    @classmethod
    def parse(cls, sid: int, reader: Reader) -> Pong:
        """Take exactly 8 bytes."""
        return cls(reader.take(PING_SIZE))


@dataclass(frozen=True, slots=True)
class PairConfirm(InnerMessage):
    """PAIR_CONFIRM: phone → instance after a pairing handshake: how to name this device."""

    device_name: str
    platform: str
    TYPE: ClassVar[MessageType] = MessageType.PAIR_CONFIRM
    STREAM_SCOPED: ClassVar[bool] = False
    stream_id: ClassVar[int] = 0

    def body(self) -> bytes:
        """Encode the two u8-length-prefixed strings."""
        name = encode_text(self.device_name, "device name", 255)
        platform = encode_text(self.platform, "platform", 32)
        check_pairing(self.device_name, platform)
        return U8.pack(len(name)) + name + U8.pack(len(platform)) + platform

    @classmethod
    def parse(cls, sid: int, reader: Reader) -> PairConfirm:
        """Decode the two strings."""
        name = decode_text(reader.take(reader.u8()), "device name", 255)
        platform = reader.take(reader.u8())
        check_pairing(name, platform)
        return cls(name, platform.decode("ascii"))


@dataclass(frozen=True, slots=True)
class PairResult(InnerMessage):
    """PAIR_RESULT: instance → phone, whether the new device is pending, active or refused."""

    status: PairStatus
    TYPE: ClassVar[MessageType] = MessageType.PAIR_RESULT
    STREAM_SCOPED: ClassVar[bool] = False
    stream_id: ClassVar[int] = 0

    def body(self) -> bytes:
        """Encode the status byte."""
        return U8.pack(to_enum(PairStatus, self.status, "pairing status"))

    @classmethod
    def parse(cls, sid: int, reader: Reader) -> PairResult:
        """Decode the status byte."""
        return cls(to_enum(PairStatus, reader.u8(), "pairing status"))


@dataclass(frozen=True, slots=True)
class Close(InnerMessage):
    """CLOSE: the encrypted end of the channel; losing the transport without it is truncation."""

    code: CloseCode = CloseCode.NORMAL
    message: str = ""
    TYPE: ClassVar[MessageType] = MessageType.CLOSE
    STREAM_SCOPED: ClassVar[bool] = False
    stream_id: ClassVar[int] = 0

    def body(self) -> bytes:
        """Encode code and message."""
        code = to_enum(CloseCode, self.code, "close code")
        return U16.pack(code) + encode_text(self.message, "close message", MAX_REASON)

    @classmethod
    def parse(cls, sid: int, reader: Reader) -> Close:
        """Decode code and message."""
        code = to_enum(CloseCode, reader.u16(), "close code")
        return cls(code, decode_text(reader.rest(), "close message", MAX_REASON))


_CLASSES: Final[dict[int, type[InnerMessage]]] = {
    cls.TYPE: cls
    for cls in (
        StreamOpen,
        ResponseHead,
        Data,
        End,
        Trailers,
        WsMessage,
        WsClose,
        Reset,
        WindowUpdate,
        Ping,
        Pong,
        PairConfirm,
        PairResult,
        Close,
    )
}


def _check_scope(cls: type[InnerMessage], sid: int) -> None:
    if cls is WindowUpdate:
        return
    if cls.STREAM_SCOPED and sid == 0:
        raise malformed(f"{cls.TYPE.name} needs a non-zero stream id")
    if not cls.STREAM_SCOPED and sid != 0:
        raise malformed(f"{cls.TYPE.name} must use stream id 0")


def encode_message(message: InnerMessage) -> bytes:
    """Encode one inner message (one record's plaintext) or raise StreamError."""
    sid = message.stream_id
    if type(sid) is not int or not 0 <= sid <= MAX_STREAM_ID:
        raise malformed(f"stream id {sid!r} is not a u32")
    _check_scope(type(message), sid)
    encoded = HEADER.pack(message.TYPE, sid) + message.body()
    if len(encoded) > MAX_MESSAGE:
        raise StreamError(f"{message.TYPE.name} exceeds {MAX_MESSAGE} bytes", code=TOO_LARGE)
    return encoded


def encode_data(stream_id: int, data: bytes | bytearray | memoryview) -> bytes:
    """Fast path for one DATA message; ``data`` is at most MAX_DATA_CHUNK bytes."""
    if len(data) > MAX_DATA_CHUNK:
        raise StreamError(f"DATA chunk exceeds {MAX_DATA_CHUNK} bytes", code=TOO_LARGE)
    if not 1 <= stream_id <= MAX_STREAM_ID:
        raise malformed(f"stream id {stream_id} is not a non-zero u32")
    return HEADER.pack(MessageType.DATA, stream_id) + data


def decode_message(data: bytes | bytearray | memoryview) -> InnerMessage:
    """Decode one record plaintext into its inner message, or raise StreamError."""
    size = len(data)
    if size > MAX_MESSAGE:
        raise StreamError(f"message of {size} bytes exceeds {MAX_MESSAGE}", code=TOO_LARGE)
    if size < HEADER_SIZE:
        raise malformed(f"message of {size} bytes is shorter than the {HEADER_SIZE}-byte header")
    type_number, sid = HEADER.unpack_from(data)
    if type_number == MessageType.DATA:
        # The hot path: one copy of the chunk, no generic reader.
        if sid == 0:
            raise malformed("DATA needs a non-zero stream id")
        return Data(sid, bytes(data[HEADER_SIZE:]))
    cls = _CLASSES.get(type_number)
    if cls is None:
        raise malformed(f"unknown message type 0x{type_number:02x}")
    _check_scope(cls, sid)
    reader = Reader(bytes(data), HEADER_SIZE)
    message = cls.parse(sid, reader)  # type: ignore[attr-defined]
    reader.done()
    return message
