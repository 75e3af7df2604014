"""Bounds-checked building blocks for the inner message codec (relayproto.inner).

Split out of ``inner.py`` to keep modules small; nothing here is specific to one message type.
Every failure is a StreamError with code MALFORMED_MESSAGE (or TOO_LARGE).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Sequence
from enum import IntEnum
from typing import Final, TypeVar

from relayproto.errors import StreamError

MALFORMED: Final = "MALFORMED_MESSAGE"
MAX_PATH: Final = 8192
MAX_HEADER_NAME: Final = 255
MAX_METHOD: Final = 32

U8: Final = struct.Struct("!B")
U16: Final = struct.Struct("!H")
U32: Final = struct.Struct("!I")

_TOKEN: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_NAME: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9a-z]+")
_BAD_VALUE: Final = re.compile(rb"[\x00\r\n]")
_PATH: Final = re.compile(rb"/[\x21-\x7e]*")
_PRINTABLE: Final = re.compile(rb"[\x21-\x7e]+")
CONTROL_CHARS: Final = re.compile(r"[\x00-\x1f\x7f]")

Headers = tuple[tuple[str, str], ...]
"""Header pairs; names are lowercase ASCII tokens, values are octets shown as latin-1 text."""

_E = TypeVar("_E", bound=IntEnum)


def malformed(message: str) -> StreamError:
    """Build the StreamError every inner decoder raises for bad input."""
    return StreamError(message, code=MALFORMED)


class Reader:
    """Cursor over one message; every read checks the remaining size before it slices."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int) -> None:
        """Start reading ``data`` at ``pos``."""
        self.data = data
        self.pos = pos

    def take(self, size: int) -> bytes:
        """Return the next ``size`` bytes or raise if fewer remain."""
        end = self.pos + size
        if end > len(self.data):
            raise malformed("message is truncated")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def unpack(self, layout: struct.Struct) -> tuple[int, ...]:
        """Read a fixed-size struct."""
        return layout.unpack(self.take(layout.size))

    def u8(self) -> int:
        """Read one unsigned byte."""
        return self.unpack(U8)[0]

    def u16(self) -> int:
        """Read a big-endian u16."""
        return self.unpack(U16)[0]

    def rest(self) -> bytes:
        """Return everything not read yet."""
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk

    def done(self) -> None:
        """Raise if bytes are left over: a message has exactly one valid length."""
        if self.pos != len(self.data):
            raise malformed(f"{len(self.data) - self.pos} unexpected trailing bytes")

    def headers(self) -> Headers:
        """Read a header block: u16 count, then (u8 name length, name, u16 length, value)."""
        out = []
        for _ in range(self.u16()):
            name = self.take(self.u8())
            value = self.take(self.u16())
            check_header(name, value)
            out.append((name.decode("ascii"), value.decode("latin-1")))
        return tuple(out)


def check_header(name: bytes, value: bytes) -> None:
    """Names are lowercase HTTP tokens; values may hold any octet except NUL, CR and LF."""
    if not 1 <= len(name) <= MAX_HEADER_NAME or not _NAME.fullmatch(name):
        raise malformed(f"header name {name[:64]!r} is not a lowercase token of 1..255 bytes")
    if len(value) > 0xFFFF or _BAD_VALUE.search(value):
        raise malformed(f"header {name.decode()!r} has a value with NUL, CR or LF, or is too long")


def normalize_headers(headers: Iterable[Sequence[str]]) -> Headers:
    """Turn any iterable of [name, value] pairs into validated lowercase-name tuples."""
    out = []
    for pair in headers:
        if isinstance(pair, str | bytes) or len(pair) != 2:
            raise malformed("a header must be a [name, value] pair")
        name, value = pair
        if not isinstance(name, str) or not isinstance(value, str):
            raise malformed("header names and values must be str")
        name = name.lower()
        try:
            check_header(name.encode("ascii"), value.encode("latin-1"))
        except UnicodeEncodeError:
            raise malformed(f"header {name[:64]!r}: ASCII name and latin-1 value") from None
        out.append((name, value))
    if len(out) > 0xFFFF:
        raise malformed("too many headers")
    return tuple(out)


def encode_headers(headers: Headers) -> bytes:
    """Encode an already normalised header block."""
    parts = [U16.pack(len(headers))]
    for name, value in headers:
        raw_name = name.encode("ascii")
        raw_value = value.encode("latin-1")
        parts += [U8.pack(len(raw_name)), raw_name, U16.pack(len(raw_value)), raw_value]
    return b"".join(parts)


def decode_text(raw: bytes, what: str, max_bytes: int) -> str:
    """Decode strict UTF-8 of at most ``max_bytes``."""
    if len(raw) > max_bytes:
        raise malformed(f"{what} is longer than {max_bytes} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed(f"{what} is not UTF-8") from None


def encode_text(text: str, what: str, max_bytes: int) -> bytes:
    """Encode text as UTF-8 of at most ``max_bytes``."""
    try:
        raw = text.encode("utf-8")
    except (UnicodeEncodeError, AttributeError):
        raise malformed(f"{what} is not encodable as UTF-8") from None
    if len(raw) > max_bytes:
        raise malformed(f"{what} is longer than {max_bytes} bytes")
    return raw


def to_enum(enum: type[_E], value: object, what: str) -> _E:
    """Map a wire integer to its enum member; unknown values are malformed."""
    try:
        return enum(value)
    except (ValueError, TypeError):
        raise malformed(f"{value!r} is not a known {what}") from None


def check_method_path(method: bytes, path: bytes) -> None:
    """Method: an HTTP token of 1..32; path: origin-form, printable ASCII, up to 8192 bytes."""
    if not 1 <= len(method) <= MAX_METHOD or not _TOKEN.fullmatch(method):
        raise malformed("method must be an HTTP token of 1..32 characters")
    if len(path) > MAX_PATH or not _PATH.fullmatch(path):
        raise malformed(f"path must start with '/' and be printable ASCII up to {MAX_PATH}")


def check_flags(flags: int, allowed: int) -> None:
    """Reject flag bits this version does not define."""
    if flags & ~allowed:
        raise malformed(f"unknown flags 0x{flags:02x}")


def check_status(status: object) -> None:
    """Only final statuses and 101 (WebSocket accepted) travel; no interim 1xx."""
    if type(status) is not int or not (status == 101 or 200 <= status <= 599):
        raise malformed(f"status {status!r} is not 101 or 200..599")


def check_ws_close_code(code: object) -> None:
    """RFC 6455 codes 1000-4999 except those reserved as never sent (1004-1006, 1015)."""
    if type(code) is not int or not 1000 <= code <= 4999 or code in (1004, 1005, 1006, 1015):
        raise malformed(f"WebSocket close code {code!r} may not be sent")


def check_increment(increment: object, maximum: int) -> None:
    """Window increments are 1..2**31-1, as in HTTP/2."""
    if type(increment) is not int or not 1 <= increment <= maximum:
        raise malformed(f"window increment {increment!r} is outside 1..{maximum}")


def check_pairing(name: str, platform: bytes) -> None:
    """Device name: 1..64 characters, no controls; platform: 1..32 printable ASCII."""
    if not 1 <= len(name) <= 64 or CONTROL_CHARS.search(name):
        raise malformed("device name must be 1..64 characters without control characters")
    if len(platform) > 32 or not _PRINTABLE.fullmatch(platform):
        raise malformed("platform must be 1..32 printable ASCII characters")
