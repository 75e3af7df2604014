"""The inner decoder raises StreamError for anything malformed, and encoders refuse it too."""

from __future__ import annotations

import struct

import pytest

from relayproto.errors import StreamError
from relayproto.inner import (
    MAX_DATA_CHUNK,
    MAX_MESSAGE,
    Close,
    Data,
    PairConfirm,
    Ping,
    Reset,
    ResponseHead,
    StreamKind,
    StreamOpen,
    Trailers,
    WindowUpdate,
    WsClose,
    decode_message,
    encode_data,
    encode_message,
)


def _msg(type_: int, stream_id: int, body: bytes = b"") -> bytes:
    return struct.pack("!BI", type_, stream_id) + body


def _bad(data: bytes, code: str = "MALFORMED_MESSAGE") -> str:
    with pytest.raises(StreamError) as info:
        decode_message(data)
    assert info.value.code == code
    return str(info.value)


def _open_body(flags=0, kind=1, method=b"GET", path=b"/", headers=b"\x00\x00") -> bytes:
    return (
        bytes([flags, kind, len(method)]) + method + struct.pack("!H", len(path)) + path + headers
    )


@pytest.mark.parametrize("data", [b"", b"\x01", b"\x03\x00\x00\x00"])
def test_shorter_than_header(data):
    _bad(data)


def test_too_large_message():
    _bad(b"\x03\x00\x00\x00\x01" + b"x" * (MAX_MESSAGE - 4), code="TOO_LARGE")


@pytest.mark.parametrize("type_", [0, 15, 0x80, 0xFF])
def test_unknown_type(type_):
    assert "unknown message type" in _bad(_msg(type_, 1))


@pytest.mark.parametrize("type_", [1, 2, 3, 4, 5, 6, 7, 8])
def test_stream_messages_need_a_stream(type_):
    assert "non-zero stream id" in _bad(_msg(type_, 0, b"\x00" * 16))


@pytest.mark.parametrize("type_", [10, 11, 12, 13, 14])
def test_channel_messages_use_stream_zero(type_):
    assert "stream id 0" in _bad(_msg(type_, 1, b"\x00" * 8))


@pytest.mark.parametrize(
    "body",
    [
        _open_body(flags=2),
        _open_body(kind=0),
        _open_body(kind=4),
        _open_body(method=b""),
        _open_body(method=b"G T"),
        _open_body(method=b"M" * 33),
        _open_body(path=b""),
        _open_body(path=b"no-slash"),
        _open_body(path=b"/sp ace"),
        _open_body(path=b"/\x7f"),
        _open_body(path=b"/" + b"a" * 8192),
        _open_body(headers=b""),
        _open_body(headers=b"\x00\x01"),
        _open_body(headers=b"\x00\x01\x01A\x00\x00"),
        _open_body(headers=b"\x00\x01\x00\x00\x00"),
        _open_body(headers=b"\x00\x01\x01a\x00\x02\r\n"),
        _open_body(headers=b"\x00\x01\x01a\x00\x05ab"),
        _open_body(headers=b"\x00\x00extra"),
        _open_body()[:4],
    ],
)
def test_bad_stream_open(body):
    _bad(_msg(1, 1, body))


@pytest.mark.parametrize("status", [0, 100, 102, 199, 600, 65535])
def test_bad_status(status):
    _bad(_msg(2, 1, struct.pack("!BH", 0, status) + b"\x00\x00"))


def test_end_has_an_empty_body():
    assert "trailing" in _bad(_msg(4, 1, b"x"))


@pytest.mark.parametrize("flags", [4, 0x80, 0xFF])
def test_ws_message_unknown_flags(flags):
    _bad(_msg(6, 1, bytes([flags]) + b"data"))


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 5000])
def test_ws_close_codes_that_may_not_be_sent(code):
    _bad(_msg(7, 1, struct.pack("!H", code)))


def test_ws_close_reason_is_short_utf8():
    _bad(_msg(7, 1, struct.pack("!H", 1000) + b"\xff"))
    _bad(_msg(7, 1, struct.pack("!H", 1000) + b"r" * 124))


@pytest.mark.parametrize("body", [b"", b"\x00", b"\x00\x00", b"\x00\x0a", b"\x00\x01\xc3"])
def test_bad_reset(body):
    _bad(_msg(8, 1, body))


@pytest.mark.parametrize("increment", [0, 2**31, 2**32 - 1])
def test_window_update_increment_range(increment):
    _bad(_msg(9, 0, struct.pack("!I", increment)))


def test_ping_is_exactly_eight_bytes():
    _bad(_msg(10, 0, b"1234567"))
    _bad(_msg(10, 0, b"123456789"))


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\x03ios",
        b"\x02\xff\xfe\x03ios",
        b"\x01\n\x03ios",
        b"\x01a\x00",
        b"\x01a\x03i s",
        b"\x01a\x21" + b"p" * 33,
        b"\x41" + b"a" * 65 + b"\x03ios",
    ],
)
def test_bad_pair_confirm(body):
    _bad(_msg(12, 0, body))


@pytest.mark.parametrize("body", [b"", b"\x00", b"\x04", b"\x01\x01"])
def test_bad_pair_result(body):
    _bad(_msg(13, 0, body))


@pytest.mark.parametrize(
    "body", [b"", b"\x00", b"\x00\x07", b"\x00\x00\xff", b"\x00\x00" + b"m" * 1025]
)
def test_bad_close(body):
    _bad(_msg(14, 0, body))


@pytest.mark.parametrize(
    "make",
    [
        lambda: StreamOpen(1, StreamKind.HTTP, "GET", "relative"),
        lambda: StreamOpen(1, StreamKind.HTTP, "GÉT", "/"),
        lambda: StreamOpen(1, 9, "GET", "/"),
        lambda: StreamOpen(0, StreamKind.HTTP, "GET", "/"),
        lambda: StreamOpen(2**32, StreamKind.HTTP, "GET", "/"),
        lambda: ResponseHead(1, 99),
        lambda: ResponseHead(1, 200, (("bad name", "v"),)),
        lambda: ResponseHead(1, 200, (("n", "line\nbreak"),)),
        lambda: ResponseHead(1, 200, (("n", "€"),)),
        lambda: ResponseHead(1, 200, (("only-name",),)),
        lambda: Trailers(1, ("nv",)),
        lambda: WsClose(1, 1005),
        lambda: Reset(1, 77),
        lambda: WindowUpdate(1, 0),
        lambda: Ping(b"short"),
        lambda: PairConfirm("", "ios"),
        lambda: Close(9),
        lambda: Data(1, b"x" * (MAX_DATA_CHUNK + 1)),
    ],
)
def test_encoders_refuse_invalid_values(make):
    with pytest.raises(StreamError):
        encode_message(make())


def test_encode_data_refuses_oversize_and_stream_zero():
    with pytest.raises(StreamError):
        encode_data(1, b"x" * (MAX_DATA_CHUNK + 1))
    with pytest.raises(StreamError):
        encode_data(0, b"x")
