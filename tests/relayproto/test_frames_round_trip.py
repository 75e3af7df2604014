"""Outer frames encode to the documented 12-byte header and decode back unchanged."""

from __future__ import annotations

import pytest

from relayproto.frames import (
    CHANNEL_FRAME_TYPES,
    HEADER_SIZE,
    SOCKET_FRAME_TYPES,
    FrameType,
    decode_credit,
    decode_frame,
    decode_ping,
    encode_credit,
    encode_frame,
    encode_header,
    encode_ping,
    pack_header_into,
    peek_header,
)


def _payload_for(frame_type: FrameType) -> bytes:
    if frame_type is FrameType.CREDIT:
        return b"\x00\x01\x00\x00"
    if frame_type in (FrameType.PING, FrameType.PONG):
        return b"12345678"
    if frame_type is FrameType.DATA:
        return bytes(range(256)) * 4
    return b'{"v":1}'


def test_header_layout_is_version_type_flags_channel_length():
    frame = encode_frame(FrameType.DATA, 0x01020304, b"abc")
    assert frame == bytes.fromhex("01 10 0000 01020304 00000003") + b"abc"
    assert HEADER_SIZE == 12


def test_type_numbers_are_stable():
    assert {t.name: t.value for t in FrameType} == {
        "REGISTER": 0x01,
        "REGISTER_ACK": 0x02,
        "CONNECT": 0x03,
        "CONNECT_ACK": 0x04,
        "OPEN": 0x05,
        "CLOSE": 0x06,
        "ROUTES": 0x07,
        "DATA": 0x10,
        "CREDIT": 0x11,
        "PING": 0x20,
        "PONG": 0x21,
        "ERROR": 0x30,
        "DRAIN": 0x31,
    }
    assert set(FrameType) == SOCKET_FRAME_TYPES | CHANNEL_FRAME_TYPES
    assert not SOCKET_FRAME_TYPES & CHANNEL_FRAME_TYPES


@pytest.mark.parametrize("frame_type", list(FrameType))
def test_every_type_round_trips(frame_type):
    channel_id = 7 if frame_type in CHANNEL_FRAME_TYPES else 0
    payload = _payload_for(frame_type)
    data = encode_frame(frame_type, channel_id, payload)
    frame = decode_frame(data)
    assert (frame.type, frame.channel_id, bytes(frame.payload)) == (
        frame_type,
        channel_id,
        payload,
    )
    assert peek_header(data) == (frame_type, channel_id, len(payload))


def test_payload_may_be_any_buffer_and_max_channel_id_fits():
    data = encode_frame(FrameType.DATA, 0xFFFFFFFF, memoryview(b"xyz"))
    assert decode_frame(bytearray(data)).channel_id == 0xFFFFFFFF
    assert bytes(decode_frame(memoryview(data)).payload) == b"xyz"


def test_empty_data_payload_is_allowed():
    assert bytes(decode_frame(encode_frame(FrameType.DATA, 1, b"")).payload) == b""


def test_full_size_data_frame_round_trips():
    payload = b"\xab" * (1024 * 1024)
    frame = decode_frame(encode_frame(FrameType.DATA, 3, payload))
    assert frame.payload == payload


def test_header_helpers_match_encode_frame():
    payload = b"p" * 100
    expected = encode_frame(FrameType.DATA, 9, payload)
    assert encode_header(FrameType.DATA, 9, len(payload)) + payload == expected
    buffer = bytearray(HEADER_SIZE + len(payload))
    pack_header_into(buffer, 0, FrameType.DATA, 9, len(payload))
    buffer[HEADER_SIZE:] = payload
    assert bytes(buffer) == expected


def test_credit_and_ping_helpers_round_trip():
    credit = decode_frame(encode_credit(5, 65536))
    assert credit.type is FrameType.CREDIT
    assert decode_credit(credit.payload) == 65536
    ping = decode_frame(encode_ping(b"\x00" * 7 + b"\x01"))
    assert ping.type is FrameType.PING
    assert decode_ping(ping.payload) == b"\x00" * 7 + b"\x01"
    assert decode_frame(encode_ping(b"abcdefgh", pong=True)).type is FrameType.PONG
