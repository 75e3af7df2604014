"""Stream state machines: open → half-closed → closed, resets, ids, and kind-specific rules."""

from __future__ import annotations

import pytest

from relayproto.errors import StreamError
from relayproto.inner import (
    Data,
    End,
    ResetCode,
    ResponseHead,
    StreamKind,
    StreamOpen,
    WsClose,
    WsMessage,
    encode_message,
)
from relayproto.stream_events import (
    DataReceived,
    ResponseReceived,
    StreamEnded,
    StreamOpened,
    StreamReset,
    TrailersReceived,
    WebSocketClosed,
    WebSocketMessageReceived,
)
from relayproto.streams import Multiplexer, Role, StreamState
from tests.relayproto.stream_support import Pair


def test_http_request_and_response_walk_through_the_states():
    pair = Pair()
    stream_id, messages = pair.phone.open_stream(
        StreamKind.HTTP, "POST", "/api/items", [("Content-Type", "application/json")]
    )
    assert stream_id == 1
    assert pair.phone.stream_state(1) is StreamState.OPEN
    events = pair.to_instance(messages)
    assert events == [
        StreamOpened(
            1, StreamKind.HTTP, "POST", "/api/items", (("content-type", "application/json"),), False
        )
    ]
    assert pair.to_instance(pair.phone.send_data(1, b'{"a":1}', end_stream=True)) == [
        DataReceived(1, b'{"a":1}'),
        StreamEnded(1),
    ]
    assert pair.phone.stream_state(1) is StreamState.HALF_CLOSED_LOCAL
    assert pair.instance.stream_state(1) is StreamState.HALF_CLOSED_REMOTE
    events = pair.to_phone(pair.instance.send_response(1, 201, [("location", "/api/items/9")]))
    assert events == [ResponseReceived(1, 201, (("location", "/api/items/9"),), False)]
    events = pair.to_phone(pair.instance.send_data(1, b"created") + pair.instance.send_end(1))
    assert events == [DataReceived(1, b"created"), StreamEnded(1)]
    assert pair.phone.stream_state(1) is StreamState.CLOSED
    assert pair.instance.stream_state(1) is StreamState.CLOSED
    assert pair.phone.open_stream_count == pair.instance.open_stream_count == 0


def test_get_with_end_stream_and_a_bodyless_response():
    pair = Pair()
    pair.open(end_stream=True)
    assert pair.instance.stream_state(1) is StreamState.HALF_CLOSED_REMOTE
    events = pair.to_phone(pair.instance.send_response(1, 204, end_stream=True))
    assert events == [ResponseReceived(1, 204, (), True), StreamEnded(1)]
    assert pair.instance.stream_state(1) is StreamState.CLOSED


def test_trailers_end_the_direction():
    pair = Pair()
    pair.open(end_stream=True)
    pair.to_phone(pair.instance.send_response(1, 200))
    events = pair.to_phone(pair.instance.send_trailers(1, [("grpc-status", "0")]))
    assert events == [TrailersReceived(1, (("grpc-status", "0"),)), StreamEnded(1)]
    with pytest.raises(StreamError):
        pair.instance.send_data(1, b"late")


def test_sse_events_arrive_one_by_one():
    pair = Pair()
    pair.open(StreamKind.SSE, end_stream=True)
    pair.to_phone(pair.instance.send_response(1, 200, [("content-type", "text/event-stream")]))
    for n in range(3):
        event = f"data: {n}\n\n".encode()
        assert pair.to_phone(pair.instance.send_data(1, event)) == [DataReceived(1, event)]


def test_stream_ids_are_odd_and_increasing():
    pair = Pair()
    ids = [pair.open(end_stream=True) for _ in range(3)]
    assert ids == [1, 3, 5]


def test_websocket_accepted_exchanges_messages_then_closes_both_ways():
    pair = Pair()
    pair.open(StreamKind.WEBSOCKET)
    with pytest.raises(StreamError):
        pair.phone.send_ws_message(1, "too early")
    assert pair.to_phone(pair.instance.send_response(1, 101))[0].status == 101
    assert pair.to_instance(pair.phone.send_ws_message(1, "hi")) == [
        WebSocketMessageReceived(1, b"hi", True, True)
    ]
    assert pair.to_phone(pair.instance.send_ws_message(1, b"\x00\x01")) == [
        WebSocketMessageReceived(1, b"\x00\x01", False, True)
    ]
    assert pair.to_instance(pair.phone.send_ws_close(1, 1000, "done")) == [
        WebSocketClosed(1, 1000, "done"),
        StreamEnded(1),
    ]
    assert pair.to_phone(pair.instance.send_ws_close(1)) == [
        WebSocketClosed(1, 1000, ""),
        StreamEnded(1),
    ]
    assert pair.phone.stream_state(1) is StreamState.CLOSED


def test_large_websocket_message_is_fragmented():
    pair = Pair()
    pair.open(StreamKind.WEBSOCKET)
    pair.to_phone(pair.instance.send_response(1, 101))
    events = pair.to_instance(pair.phone.send_ws_message(1, b"m" * 150_000))
    assert [e.final for e in events] == [False, False, True]
    assert b"".join(e.data for e in events) == b"m" * 150_000


def test_websocket_refused_with_a_status_and_body():
    pair = Pair()
    pair.open(StreamKind.WEBSOCKET)
    events = pair.to_phone(pair.instance.send_response(1, 403))
    assert events == [ResponseReceived(1, 403, (), False)]
    assert pair.phone.stream_state(1) is StreamState.HALF_CLOSED_LOCAL
    events = pair.to_phone(pair.instance.send_data(1, b"forbidden", end_stream=True))
    assert events == [DataReceived(1, b"forbidden"), StreamEnded(1)]
    assert pair.phone.stream_state(1) is StreamState.CLOSED
    assert pair.instance.stream_state(1) is StreamState.CLOSED


def test_status_101_only_for_websockets():
    pair = Pair()
    pair.open()
    with pytest.raises(StreamError):
        pair.instance.send_response(1, 101)


def test_reset_by_the_phone_aborts_the_instance_side():
    pair = Pair()
    pair.open()
    events = pair.to_instance(pair.phone.reset_stream(1, ResetCode.CANCELLED, "user left"))
    assert events == [StreamReset(1, ResetCode.CANCELLED, "user left", remote=True)]
    assert pair.instance.stream_state(1) is StreamState.CLOSED
    assert pair.phone.reset_stream(1) == []  # already gone: nothing to send


def test_reset_by_the_instance_and_late_messages_are_dropped():
    pair = Pair()
    pair.open()
    pair.to_phone(pair.instance.reset_stream(1, ResetCode.UPSTREAM_ERROR, "refused"))
    # The phone's data was in flight when the reset crossed it: it is dropped, not an error.
    assert pair.to_instance([encode_message(Data(1, b"late")), encode_message(End(1))]) == []


def test_sending_on_a_closed_or_unknown_stream_is_a_local_error():
    pair = Pair()
    with pytest.raises(StreamError) as info:
        pair.phone.send_data(1, b"x")
    assert info.value.code == "STREAM_CLOSED"
    pair.open(end_stream=True)
    with pytest.raises(StreamError):
        pair.phone.send_data(1, b"x")
    with pytest.raises(StreamError):
        pair.phone.reset_stream(99)


def test_only_the_phone_opens_and_only_the_instance_answers():
    pair = Pair()
    with pytest.raises(StreamError):
        pair.instance.open_stream(StreamKind.HTTP, "GET", "/")
    pair.open()
    with pytest.raises(StreamError):
        pair.phone.send_response(1, 200)


@pytest.mark.parametrize(
    "message",
    [
        StreamOpen(2, StreamKind.HTTP, "GET", "/"),  # even id
        StreamOpen(1, StreamKind.HTTP, "GET", "/"),  # reused id
        StreamOpen(5, StreamKind.WEBSOCKET, "GET", "/", end_stream=True),
        Data(7, b"never opened"),
        WsMessage(3, b"not a websocket"),
        WsClose(3),
        ResponseHead(3, 200),  # only the instance sends heads
    ],
    ids=lambda m: type(m).__name__,
)
def test_instance_fails_the_channel_on_a_protocol_violation(message):
    pair = Pair()
    pair.open(end_stream=False)
    pair.open(end_stream=False)
    with pytest.raises(StreamError):
        pair.to_instance([encode_message(message)])
    assert pair.instance.closed
    (close,) = pair.instance.data_to_send()
    assert close[0] == 0x0E  # CLOSE
    with pytest.raises(StreamError):
        pair.to_instance([encode_message(Data(1, b"after the failure"))])


@pytest.mark.parametrize(
    "message",
    [
        StreamOpen(2, StreamKind.HTTP, "GET", "/"),  # the instance never opens streams
        Data(1, b"before the head"),
        End(1),
        ResponseHead(1, 101),  # 101 for an HTTP stream
    ],
    ids=lambda m: type(m).__name__,
)
def test_phone_fails_the_channel_on_a_protocol_violation(message):
    pair = Pair()
    pair.open()
    with pytest.raises(StreamError):
        pair.to_phone([encode_message(message)])
    assert pair.phone.closed


def test_second_response_head_and_data_after_end_are_violations():
    pair = Pair()
    pair.open()
    pair.to_phone(pair.instance.send_response(1, 200))
    with pytest.raises(StreamError):
        pair.to_phone([encode_message(ResponseHead(1, 200))])
    pair = Pair()
    pair.open()
    pair.to_instance(pair.phone.send_end(1))
    with pytest.raises(StreamError):
        pair.to_instance([encode_message(Data(1, b"after end"))])


def test_garbage_bytes_fail_the_channel_with_a_stream_error():
    mux = Multiplexer(Role.SERVER)
    with pytest.raises(StreamError):
        mux.receive(b"\xff\xff")
    assert mux.closed
