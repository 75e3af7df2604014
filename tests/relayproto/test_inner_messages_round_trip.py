"""Inner messages (one per record plaintext) encode to the documented bytes and back."""

from __future__ import annotations

import pytest

from relayproto.inner import (
    HEADER_SIZE,
    MAX_DATA_CHUNK,
    MAX_MESSAGE,
    Close,
    CloseCode,
    Data,
    End,
    MessageType,
    PairConfirm,
    PairResult,
    PairStatus,
    Ping,
    Pong,
    Reset,
    ResetCode,
    ResponseHead,
    StreamKind,
    StreamOpen,
    Trailers,
    WindowUpdate,
    WsClose,
    WsMessage,
    decode_message,
    encode_data,
    encode_message,
)

MESSAGES = [
    StreamOpen(1, StreamKind.HTTP, "GET", "/api/status?verbose=1", (("accept", "*/*"),), True),
    StreamOpen(3, StreamKind.SSE, "GET", "/events", ()),
    StreamOpen(5, StreamKind.WEBSOCKET, "GET", "/ws", (("sec-websocket-protocol", "chat"),)),
    StreamOpen(7, StreamKind.HTTP, "PATCH", "/", (("x-bin", "\xff\x00"[0] + "\x7f"),)),
    ResponseHead(1, 200, (("content-type", "application/json"),)),
    ResponseHead(5, 101),
    ResponseHead(9, 204, (), end_stream=True),
    Data(1, b"\x00\x01binary\xff"),
    Data(1, b""),
    End(1),
    Trailers(1, (("grpc-status", "0"),)),
    WsMessage(5, "héllo".encode(), text=True),
    WsMessage(5, b"\x00" * 10, more=True),
    WsClose(5, 1000, "bye"),
    WsClose(5, 4001, ""),
    Reset(1, ResetCode.UPSTREAM_ERROR, "connection refused"),
    WindowUpdate(0, 1),
    WindowUpdate(1, 2**31 - 1),
    Ping(b"\x01" * 8),
    Pong(b"\x02" * 8),
    PairConfirm("Ana's Pixel ✓", "android"),
    PairResult(PairStatus.PENDING),
    Close(CloseCode.NORMAL, ""),
    Close(CloseCode.DEVICE_REVOKED, "revoked by owner"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message):
    encoded = encode_message(message)
    assert encoded[0] == message.TYPE
    assert int.from_bytes(encoded[1:5], "big") == message.stream_id
    assert decode_message(encoded) == message
    assert decode_message(memoryview(encoded)) == message


def test_type_numbers_are_stable():
    assert [(t.name, t.value) for t in MessageType] == [
        ("STREAM_OPEN", 1),
        ("RESPONSE_HEAD", 2),
        ("DATA", 3),
        ("END", 4),
        ("TRAILERS", 5),
        ("WS_MESSAGE", 6),
        ("WS_CLOSE", 7),
        ("RESET", 8),
        ("WINDOW_UPDATE", 9),
        ("PING", 10),
        ("PONG", 11),
        ("PAIR_CONFIRM", 12),
        ("PAIR_RESULT", 13),
        ("CLOSE", 14),
    ]


def test_data_body_is_raw_bytes_after_a_five_byte_header():
    assert encode_message(Data(3, b"abc")) == bytes.fromhex("03 00000003") + b"abc"
    assert encode_data(3, memoryview(b"abc")) == encode_message(Data(3, b"abc"))
    assert HEADER_SIZE == 5


def test_stream_open_binary_layout():
    message = StreamOpen(1, StreamKind.HTTP, "GET", "/a", (("k", "v"),), end_stream=True)
    assert encode_message(message) == bytes.fromhex(
        "01 00000001"  # STREAM_OPEN, stream 1
        "01 01 03 474554"  # flags END_STREAM, kind http, method "GET"
        "0002 2f61"  # path "/a"
        "0001 01 6b 0001 76"  # one header: "k" = "v"
    )


def test_header_names_are_lowercased_and_lists_accepted():
    message = ResponseHead(1, 200, [["Content-Type", "text/plain"]])
    assert message.headers == (("content-type", "text/plain"),)
    assert decode_message(encode_message(message)) == message


def test_header_values_are_octets_through_latin_1():
    value = bytes(range(0x20, 0x100)).decode("latin-1")
    message = Trailers(1, (("x-all", value),))
    assert decode_message(encode_message(message)).headers[0][1] == value


def test_a_full_record_of_data_fits_and_one_more_byte_does_not():
    full = encode_data(1, b"x" * MAX_DATA_CHUNK)
    assert len(full) == MAX_MESSAGE == 65519
    assert decode_message(full) == Data(1, b"x" * MAX_DATA_CHUNK)


def test_max_plaintext_matches_the_record_layer():
    records = pytest.importorskip("relayproto.records")
    assert records.MAX_PLAINTEXT == MAX_MESSAGE
