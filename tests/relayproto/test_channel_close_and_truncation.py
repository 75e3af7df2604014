"""The encrypted CLOSE ends a channel cleanly; losing the transport without it is truncation."""

from __future__ import annotations

import pytest

from relayproto.errors import StreamError
from relayproto.inner import CloseCode, PairStatus, ResetCode, StreamKind
from relayproto.stream_events import (
    ChannelClosed,
    ConnectionTerminated,
    PairConfirmReceived,
    PairResultReceived,
    PongReceived,
    StreamReset,
)
from tests.relayproto.stream_support import Pair


def test_losing_the_transport_without_close_reports_truncation_and_aborts_streams():
    pair = Pair()
    pair.open()
    pair.to_phone(pair.instance.send_response(1, 200))
    pair.to_phone(pair.instance.send_data(1, b"partial body"))
    events = pair.phone.connection_lost()
    assert events == [
        StreamReset(1, ResetCode.CANCELLED, "channel lost", remote=False),
        ConnectionTerminated(truncated=True),
    ]
    assert pair.phone.closed
    assert pair.phone.connection_lost() == []
    with pytest.raises(StreamError):
        pair.phone.open_stream(StreamKind.HTTP, "GET", "/")


def test_close_received_first_means_a_clean_end():
    pair = Pair()
    pair.open()
    events = pair.to_phone(pair.instance.close(CloseCode.SHUTDOWN, "instance stopping"))
    assert events == [
        StreamReset(1, ResetCode.CANCELLED, "channel closed", remote=True),
        ChannelClosed(CloseCode.SHUTDOWN, "instance stopping"),
    ]
    assert pair.phone.connection_lost() == [ConnectionTerminated(truncated=False)]


def test_close_sent_first_is_also_clean_and_later_input_is_ignored():
    pair = Pair()
    pair.open()
    assert pair.phone.close() != []
    assert pair.phone.close() == []
    assert pair.phone.receive(pair.instance.send_response(1, 200)[0]) == []
    assert pair.phone.connection_lost() == [ConnectionTerminated(truncated=False)]


def test_nothing_may_follow_a_received_close():
    pair = Pair()
    pair.to_phone(pair.instance.close())
    with pytest.raises(StreamError) as info:
        pair.to_phone(pair.instance.ping(b"12345678"))
    assert info.value.code == "CHANNEL_CLOSED"


def test_a_protocol_failure_sends_close_and_is_not_truncation():
    pair = Pair()
    with pytest.raises(StreamError):
        pair.phone.receive(b"\x0e\x00\x00\x00\x00\x00\x63")  # CLOSE with an unknown code
    _, instance_events = pair.flush()
    assert [type(e) for e in instance_events] == [ChannelClosed]
    assert instance_events[0].code is CloseCode.PROTOCOL_ERROR
    assert pair.phone.connection_lost() == [ConnectionTerminated(truncated=False)]


def test_ping_is_answered_with_the_same_bytes():
    pair = Pair()
    pair.to_instance(pair.phone.ping(b"\x00\x01\x02\x03\x04\x05\x06\x07"))
    phone_events, _ = pair.flush()
    assert phone_events == [PongReceived(b"\x00\x01\x02\x03\x04\x05\x06\x07")]


def test_pairing_confirmation_and_result_go_the_right_way():
    pair = Pair()
    events = pair.to_instance(pair.phone.send_pair_confirm("Ana's phone", "ios"))
    assert events == [PairConfirmReceived("Ana's phone", "ios")]
    events = pair.to_phone(pair.instance.send_pair_result(PairStatus.PENDING))
    assert events == [PairResultReceived(PairStatus.PENDING)]
    with pytest.raises(StreamError):
        pair.instance.send_pair_confirm("x", "y")
    with pytest.raises(StreamError):
        pair.phone.send_pair_result(PairStatus.ACTIVE)
    with pytest.raises(StreamError):
        pair.to_phone(pair.phone.send_pair_confirm("loop", "ios"))
