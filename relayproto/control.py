"""Control payloads: small, versioned, strictly validated compact UTF-8 JSON objects.

Rules shared by every control payload (see docs/protocol.md):

- the payload is one JSON object, at most 4096 bytes of strict UTF-8, with ``"v": 1``;
- every field has one JSON type; ``true``/``false`` are never integers, floats never integers;
- a key the schema does not know is an error unless it starts with ``"x-"`` (extensions,
  ignored by receivers that do not understand them); duplicate keys are an error;
- an absent optional field and ``null`` mean the same thing; encoders omit absent fields.

Each message is a frozen dataclass that validates itself on construction, so a value that
exists can always be encoded, and decoding is "parse JSON, then construct".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Final, Self

from relayproto.errors import FrameError
from relayproto.frames import (
    MAX_CHANNEL_ID,
    MAX_CONTROL_PAYLOAD,
    MAX_WINDOW,
    ErrorCode,
    Frame,
    FrameType,
    decode_credit,
    decode_ping,
    encode_frame,
)

CONTROL_VERSION: Final = 1
MAX_MESSAGE_CHARS: Final = 512
MAX_RETRY_AFTER: Final = 86_400

_INSTANCE_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
_TOKEN_CHARS: Final = re.compile(r"[\x21-\x7e]+", re.ASCII)
_HEX64: Final = re.compile(r"[0-9a-f]{64}", re.ASCII)
_CONTROL_CHARS: Final = re.compile(r"[\x00-\x1f\x7f]")


# Derived from ErrorCode so that every error the relay can end a socket with is also a valid
# reason to end a channel, without a second list to keep in step.
CloseReason = StrEnum(
    "CloseReason",
    {"NORMAL": "NORMAL", "PEER_GONE": "PEER_GONE", **{e.name: e.value for e in ErrorCode}},
    module=__name__,
)
CloseReason.__doc__ = "Why a channel ended (outer CLOSE): NORMAL, PEER_GONE, or any ErrorCode."


def _bad(field: str, problem: str) -> FrameError:
    return FrameError(f"field {field!r}: {problem}", code=ErrorCode.MALFORMED_FRAME)


Check = Callable[[str, Any], Any]
"""Validate a field value (JSON or Python) and return its normalised Python value."""


def _uint(lo: int, hi: int) -> Check:
    def check(field: str, value: Any) -> int:
        if type(value) is not int:
            raise _bad(field, f"must be an integer, not {type(value).__name__}")
        if not lo <= value <= hi:
            raise _bad(field, f"{value} is outside {lo}..{hi}")
        return value

    return check


def _utf8(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _bad(field, f"must be a string, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(field, "is not valid Unicode (lone surrogate)") from None
    return value


def _text(max_chars: int) -> Check:
    def check(field: str, value: Any) -> str:
        value = _utf8(field, value)
        if len(value) > max_chars:
            raise _bad(field, f"is longer than {max_chars} characters")
        if _CONTROL_CHARS.search(value):
            raise _bad(field, "contains control characters")
        return value

    return check


def _token(max_len: int) -> Check:
    def check(field: str, value: Any) -> str:
        value = _utf8(field, value)
        if not 1 <= len(value) <= max_len:
            raise _bad(field, f"must be 1..{max_len} characters")
        if not _TOKEN_CHARS.fullmatch(value):
            raise _bad(field, "must be printable ASCII without spaces")
        return value

    return check


def _pattern(regex: re.Pattern[str], description: str) -> Check:
    def check(field: str, value: Any) -> str:
        value = _utf8(field, value)
        if not regex.fullmatch(value):
            raise _bad(field, f"must be {description}")
        return value

    return check


def _enum(enum: type[StrEnum]) -> Check:
    def check(field: str, value: Any) -> StrEnum:
        value = _utf8(field, value)
        try:
            return enum(value)
        except ValueError:
            raise _bad(field, f"{value[:64]!r} is not a known {enum.__name__}") from None

    return check


def _ws_url(field: str, value: Any) -> str:
    value = _token(512)(field, value)
    if not value.startswith(("ws://", "wss://")):
        raise _bad(field, "must be a ws:// or wss:// URL")
    return value


def _nested(cls: type[_Schema]) -> Check:
    def check(field: str, value: Any) -> _Schema:
        if isinstance(value, cls):
            return value
        if type(value) is not dict:
            raise _bad(field, f"must be an object, not {type(value).__name__}")
        return cls._from_dict(value, prefix=f"{field}.")

    return check


instance_id_check: Final = _pattern(_INSTANCE_ID, "1..64 characters of [A-Za-z0-9_-]")
_sha256_hex: Final = _pattern(_HEX64, "64 lowercase hex digits (SHA-256)")
MAX_ROUTES: Final = 56  # per ROUTES frame: what fits the 4 KiB control payload


def _more(field: str, value: Any) -> bool | None:
    """``more``: true when further ROUTES frames complete this list; false is the default."""
    if type(value) is not bool:
        raise _bad(field, "must be true or false")
    return True if value else None


def _hash_list(field: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or len(value) > MAX_ROUTES:
        raise _bad(field, f"must be a list of at most {MAX_ROUTES} SHA-256 hex digests")
    return tuple(sorted({_sha256_hex(f"{field}[{i}]", item) for i, item in enumerate(value)}))


_u32: Final = _uint(0, MAX_CHANNEL_ID)
_window: Final = _uint(1, MAX_WINDOW)
_max_frame: Final = _uint(MAX_CONTROL_PAYLOAD, 16 * 1024 * 1024)
_retry_after: Final = _uint(0, MAX_RETRY_AFTER)
_message: Final = _text(MAX_MESSAGE_CHARS)


class _Schema:
    """Shared validation and JSON mapping for control dataclasses (declared in ``_CHECKS``)."""

    __slots__ = ()
    _CHECKS: ClassVar[dict[str, Check]]
    _OPTIONAL: ClassVar[frozenset[str]] = frozenset()

    def __post_init__(self) -> None:
        for name, check in self._CHECKS.items():
            value = getattr(self, name)
            if value is None:
                if name not in self._OPTIONAL:
                    raise _bad(name, "is required")
                continue
            object.__setattr__(self, name, check(name, value))

    def _to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self._CHECKS:
            value = getattr(self, name)
            if isinstance(value, _Schema):
                out[name] = value._to_dict()
            elif value is not None:
                out[name] = value
        return out

    @classmethod
    def _from_dict(cls, obj: dict[str, Any], prefix: str = "") -> Self:
        kwargs: dict[str, Any] = {}
        for key, value in obj.items():
            check = cls._CHECKS.get(key)
            if check is None:
                if key.startswith("x-"):
                    continue
                raise _bad(prefix + key[:64], "is not a known field")
            kwargs[key] = None if value is None else check(prefix + key, value)
        for name in cls._CHECKS:
            if name not in cls._OPTIONAL and kwargs.get(name) is None:
                raise _bad(prefix + name, "is required")
        return cls(**kwargs)


class ControlMessage(_Schema):
    """Base of the JSON control payloads; ``FRAME_TYPE`` says which frame carries it."""

    __slots__ = ()
    FRAME_TYPE: ClassVar[FrameType]

    def to_payload(self) -> bytes:
        """Encode as compact UTF-8 JSON with ``"v": 1`` first."""
        body = {"v": CONTROL_VERSION, **self._to_dict()}
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        encoded = data.encode("utf-8")
        if len(encoded) > MAX_CONTROL_PAYLOAD:
            raise FrameError(
                f"{type(self).__name__} payload exceeds {MAX_CONTROL_PAYLOAD} bytes",
                code=ErrorCode.FRAME_TOO_LARGE,
            )
        return encoded

    @classmethod
    def from_payload(cls, payload: bytes | bytearray | memoryview) -> Self:
        """Decode and validate a payload of this message type, or raise FrameError."""
        obj = parse_control_json(payload)
        return cls._from_dict(obj)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _bad(key[:64], "appears twice")
        obj[key] = value
    return obj


def _reject_constant(name: str) -> Any:
    raise FrameError(f"{name} is not allowed in control payloads", code=ErrorCode.MALFORMED_FRAME)


def parse_control_json(payload: bytes | bytearray | memoryview) -> dict[str, Any]:
    """Parse a control payload into a dict whose ``"v"`` was checked (key removed)."""
    if len(payload) > MAX_CONTROL_PAYLOAD:
        raise FrameError(
            f"control payload of {len(payload)} bytes exceeds {MAX_CONTROL_PAYLOAD}",
            code=ErrorCode.FRAME_TOO_LARGE,
        )
    try:
        text = bytes(payload).decode("utf-8")
        obj = json.loads(
            text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except FrameError:
        raise
    except (ValueError, RecursionError) as exc:
        # UnicodeDecodeError and JSONDecodeError are both ValueErrors.
        raise FrameError(
            f"control payload is not UTF-8 JSON: {exc}", code=ErrorCode.MALFORMED_FRAME
        ) from None
    if type(obj) is not dict:
        raise FrameError("control payload must be a JSON object", code=ErrorCode.MALFORMED_FRAME)
    version = obj.pop("v", None)
    if version is None:
        raise _bad("v", "is required")
    if type(version) is not int:
        raise _bad("v", "must be an integer")
    if version != CONTROL_VERSION:
        raise FrameError(
            f"control payload version {version} is not supported (want {CONTROL_VERSION})",
            code=ErrorCode.UNSUPPORTED_VERSION,
        )
    return obj


@dataclass(frozen=True, slots=True)
class Limits(_Schema):
    """Relay limits announced in REGISTER_ACK."""

    max_frame: int
    window: int
    max_channels: int
    ping_interval: int
    _CHECKS: ClassVar[dict[str, Check]] = {
        "max_frame": _max_frame,
        "window": _window,
        "max_channels": _uint(1, 1_000_000),
        "ping_interval": _uint(1, 3600),
    }


@dataclass(frozen=True, slots=True)
class Register(ControlMessage):
    """REGISTER (instance → relay, channel 0): present a licence, maybe resume a session."""

    licence: str
    client: str
    resume_token: str | None = None
    FRAME_TYPE: ClassVar[FrameType] = FrameType.REGISTER
    _CHECKS: ClassVar[dict[str, Check]] = {
        "licence": _token(3584),
        "client": _token(64),
        "resume_token": _token(256),
    }
    _OPTIONAL: ClassVar[frozenset[str]] = frozenset({"resume_token"})


@dataclass(frozen=True, slots=True)
class RegisterAck(ControlMessage):
    """REGISTER_ACK (relay → instance, channel 0): the instance id, resume token and limits."""

    instance_id: str
    resume_token: str
    resume_expires_at: int
    limits: Limits
    FRAME_TYPE: ClassVar[FrameType] = FrameType.REGISTER_ACK
    _CHECKS: ClassVar[dict[str, Check]] = {
        "instance_id": instance_id_check,
        "resume_token": _token(256),
        "resume_expires_at": _uint(0, 2**40),
        "limits": _nested(Limits),
    }


@dataclass(frozen=True, slots=True)
class Routes(ControlMessage):
    """ROUTES (instance → relay, channel 0): the SHA-256 of every routing token that may CONNECT.

    Once an instance sends ROUTES, the relay refuses a CONNECT whose token is not listed, before
    it costs the instance a handshake; each complete list replaces the previous one. A list
    longer than one frame holds (MAX_ROUTES) is sent as several frames, all but the last with
    ``more`` true; the relay applies it when the last arrives.
    """

    hashes: tuple[str, ...]
    more: bool | None = None
    FRAME_TYPE: ClassVar[FrameType] = FrameType.ROUTES
    _CHECKS: ClassVar[dict[str, Check]] = {"hashes": _hash_list, "more": _more}
    _OPTIONAL: ClassVar[frozenset[str]] = frozenset({"more"})

    def _to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"hashes": list(self.hashes)}
        if self.more:
            out["more"] = True
        return out


def routes_frames(hashes: list[str] | tuple[str, ...]) -> list[Routes]:
    """A list of routing-token hashes of any length as ROUTES messages, in order."""
    ordered = sorted(set(hashes))
    chunks = [ordered[i : i + MAX_ROUTES] for i in range(0, len(ordered), MAX_ROUTES)] or [[]]
    return [
        Routes(hashes=tuple(chunk), more=True if n < len(chunks) - 1 else None)
        for n, chunk in enumerate(chunks)
    ]


@dataclass(frozen=True, slots=True)
class Connect(ControlMessage):
    """CONNECT (app → relay, channel 0): ask for a channel to an instance; ``ref`` is echoed."""

    ref: int
    instance_id: str
    routing_token: str | None = None
    client: str | None = None
    FRAME_TYPE: ClassVar[FrameType] = FrameType.CONNECT
    _CHECKS: ClassVar[dict[str, Check]] = {
        "ref": _u32,
        "instance_id": instance_id_check,
        "routing_token": _token(256),
        "client": _token(64),
    }
    _OPTIONAL: ClassVar[frozenset[str]] = frozenset({"routing_token", "client"})


@dataclass(frozen=True, slots=True)
class ConnectAck(ControlMessage):
    """CONNECT_ACK (relay → app, header carries the new channel id): the channel is open."""

    ref: int
    window: int
    max_frame: int
    FRAME_TYPE: ClassVar[FrameType] = FrameType.CONNECT_ACK
    _CHECKS: ClassVar[dict[str, Check]] = {"ref": _u32, "window": _window, "max_frame": _max_frame}


@dataclass(frozen=True, slots=True)
class Open(ControlMessage):
    """OPEN (relay → instance, header carries the new channel id): an app wants a channel."""

    window: int
    max_frame: int
    routing_hash: str | None = None
    client: str | None = None
    FRAME_TYPE: ClassVar[FrameType] = FrameType.OPEN
    _CHECKS: ClassVar[dict[str, Check]] = {
        "window": _window,
        "max_frame": _max_frame,
        "routing_hash": _sha256_hex,
        "client": _token(64),
    }
    _OPTIONAL: ClassVar[frozenset[str]] = frozenset({"routing_hash", "client"})


@dataclass(frozen=True, slots=True)
class Close(ControlMessage):
    """CLOSE (any direction, on a channel): the channel is over, with a reason."""

    code: CloseReason
    message: str = ""
    FRAME_TYPE: ClassVar[FrameType] = FrameType.CLOSE
    _CHECKS: ClassVar[dict[str, Check]] = {"code": _enum(CloseReason), "message": _message}
    _OPTIONAL: ClassVar[frozenset[str]] = frozenset({"message"})


@dataclass(frozen=True, slots=True)
class Error(ControlMessage):
    """ERROR (relay → endpoint, channel 0): a refusal; ``ref`` names the CONNECT it answers."""

    code: ErrorCode
    message: str = ""
    retry_after: int | None = None
    ref: int | None = None
    FRAME_TYPE: ClassVar[FrameType] = FrameType.ERROR
    _CHECKS: ClassVar[dict[str, Check]] = {
        "code": _enum(ErrorCode),
        "message": _message,
        "retry_after": _retry_after,
        "ref": _u32,
    }
    _OPTIONAL: ClassVar[frozenset[str]] = frozenset({"message", "retry_after", "ref"})


@dataclass(frozen=True, slots=True)
class Drain(ControlMessage):
    """DRAIN (relay → endpoint, channel 0): the relay is shutting down; reconnect later."""

    retry_after: int
    reconnect: str | None = None
    FRAME_TYPE: ClassVar[FrameType] = FrameType.DRAIN
    _CHECKS: ClassVar[dict[str, Check]] = {"retry_after": _retry_after, "reconnect": _ws_url}
    _OPTIONAL: ClassVar[frozenset[str]] = frozenset({"reconnect"})


CONTROL_CLASSES: Final[dict[FrameType, type[ControlMessage]]] = {
    cls.FRAME_TYPE: cls
    for cls in (Register, RegisterAck, Routes, Connect, ConnectAck, Open, Close, Error, Drain)
}


@dataclass(frozen=True, slots=True)
class Credit:
    """CREDIT (binary u32 increment): the sender may receive this many more DATA bytes."""

    increment: int


@dataclass(frozen=True, slots=True)
class Ping:
    """PING (binary, 8 opaque bytes, channel 0); answer with a Pong carrying the same bytes."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class Pong:
    """PONG (binary, the 8 bytes of the PING it answers, channel 0)."""

    payload: bytes


def encode_control(message: ControlMessage, channel_id: int = 0) -> bytes:
    """Encode a JSON control message as a whole frame of its own type."""
    return encode_frame(message.FRAME_TYPE, channel_id, message.to_payload())


def decode_control(frame: Frame) -> ControlMessage | Credit | Ping | Pong:
    """Decode the payload of any non-DATA frame into its typed message, or raise FrameError."""
    if frame.type is FrameType.CREDIT:
        return Credit(decode_credit(frame.payload))
    if frame.type is FrameType.PING:
        return Ping(decode_ping(frame.payload))
    if frame.type is FrameType.PONG:
        return Pong(decode_ping(frame.payload))
    cls = CONTROL_CLASSES.get(frame.type)
    if cls is None:
        raise FrameError(
            f"{frame.type.name} has no control payload", code=ErrorCode.MALFORMED_FRAME
        )
    return cls.from_payload(frame.payload)
