"""Every way a frame can be wrong maps to one FrameError code, checked before any copy."""

from __future__ import annotations

import struct

import pytest

from relayproto.errors import FrameError
from relayproto.frames import (
    DEFAULT_MAX_PAYLOAD,
    MAX_CONTROL_PAYLOAD,
    ErrorCode,
    FrameType,
    decode_credit,
    decode_frame,
    decode_ping,
    encode_credit,
    encode_frame,
    encode_ping,
    peek_header,
)


def _raw(version=1, type_=0x10, flags=0, channel=1, length=None, payload=b""):
    size = len(payload) if length is None else length
    return struct.pack("!BBHII", version, type_, flags, channel, size) + payload


def _code(data: bytes, **kwargs) -> str:
    with pytest.raises(FrameError) as info:
        decode_frame(data, **kwargs)
    with pytest.raises(FrameError) as peeked:
        peek_header(data, **kwargs)
    assert peeked.value.code == info.value.code
    return info.value.code


def test_empty_message_is_malformed():
    assert _code(b"") == ErrorCode.MALFORMED_FRAME


@pytest.mark.parametrize("version", [0, 2, 255])
def test_wrong_version_is_unsupported_version_even_when_short(version):
    assert _code(_raw(version=version)) == ErrorCode.UNSUPPORTED_VERSION
    assert _code(bytes([version])) == ErrorCode.UNSUPPORTED_VERSION


@pytest.mark.parametrize("size", [1, 5, 11])
def test_truncated_header_is_malformed(size):
    assert _code(_raw()[:size]) == ErrorCode.MALFORMED_FRAME


@pytest.mark.parametrize("type_", [0x00, 0x08, 0x12, 0x22, 0x32, 0xFF])
def test_unknown_type_is_malformed(type_):
    with pytest.raises(FrameError, match="unknown frame type") as info:
        decode_frame(_raw(type_=type_))
    assert info.value.code == ErrorCode.MALFORMED_FRAME


def test_reserved_flags_must_be_zero():
    assert _code(_raw(flags=1)) == ErrorCode.MALFORMED_FRAME


@pytest.mark.parametrize("length", [0, 4, 6, 1000])
def test_length_field_must_match_the_message(length):
    with pytest.raises(FrameError, match="payload bytes") as info:
        decode_frame(_raw(length=length, payload=b"12345"))
    assert info.value.code == ErrorCode.MALFORMED_FRAME


def test_declared_oversize_is_frame_too_large_before_reading_payload():
    assert _code(_raw(length=DEFAULT_MAX_PAYLOAD + 1)) == ErrorCode.FRAME_TOO_LARGE
    assert _code(_raw(length=0xFFFFFFFF)) == ErrorCode.FRAME_TOO_LARGE


def test_actual_oversize_is_frame_too_large_even_if_header_lies():
    assert _code(_raw(length=3, payload=b"x" * 101), max_payload=100) == ErrorCode.FRAME_TOO_LARGE


def test_limit_is_configurable():
    data = encode_frame(FrameType.DATA, 1, b"x" * 200)
    assert _code(data, max_payload=199) == ErrorCode.FRAME_TOO_LARGE
    assert decode_frame(data, max_payload=200).payload == b"x" * 200


def test_control_payload_over_4_kib_is_too_large():
    data = _raw(type_=FrameType.CLOSE, channel=1, payload=b" " * (MAX_CONTROL_PAYLOAD + 1))
    assert _code(data) == ErrorCode.FRAME_TOO_LARGE


@pytest.mark.parametrize(
    ("type_", "size"),
    [(FrameType.CREDIT, 3), (FrameType.CREDIT, 5), (FrameType.PING, 7), (FrameType.PONG, 9)],
)
def test_fixed_size_payloads_must_have_their_size(type_, size):
    channel = 1 if type_ is FrameType.CREDIT else 0
    assert _code(_raw(type_=type_, channel=channel, payload=b"\x01" * size)) == "MALFORMED_FRAME"


@pytest.mark.parametrize("type_", [FrameType.DATA, FrameType.CREDIT, FrameType.OPEN])
def test_channel_frames_need_a_channel(type_):
    with pytest.raises(FrameError, match="non-zero channel"):
        decode_frame(_raw(type_=type_, channel=0))


@pytest.mark.parametrize("type_", [FrameType.REGISTER, FrameType.PING, FrameType.ERROR])
def test_socket_frames_use_channel_zero(type_):
    with pytest.raises(FrameError, match="channel id 0"):
        decode_frame(_raw(type_=type_, channel=5))


def test_encoder_refuses_what_the_decoder_would_refuse():
    with pytest.raises(FrameError) as info:
        encode_frame(FrameType.DATA, 1, b"x" * (DEFAULT_MAX_PAYLOAD + 1))
    assert info.value.code == ErrorCode.FRAME_TOO_LARGE
    for args in [(FrameType.DATA, 0, b""), (0x99, 0, b""), (FrameType.DATA, 2**32, b"")]:
        with pytest.raises(FrameError):
            encode_frame(*args)
    with pytest.raises(FrameError):
        encode_frame(FrameType.DATA, -1, b"")


def test_credit_increment_must_be_positive_and_fit_a_window():
    for bad in (0, 2**31):
        with pytest.raises(FrameError):
            encode_credit(1, bad)
    with pytest.raises(FrameError):
        decode_credit(b"\x00\x00\x00\x00")
    with pytest.raises(FrameError):
        decode_credit(b"\x80\x00\x00\x00")
    with pytest.raises(FrameError):
        decode_credit(b"\x01")


def test_ping_payload_is_exactly_eight_bytes():
    with pytest.raises(FrameError):
        encode_ping(b"short")
    with pytest.raises(FrameError):
        decode_ping(b"123456789")
