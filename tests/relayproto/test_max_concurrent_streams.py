"""The number of open streams is bounded at both ends."""

from __future__ import annotations

import pytest

from relayproto.errors import StreamError
from relayproto.inner import ResetCode, StreamKind
from relayproto.stream_events import StreamReset
from relayproto.streams import Multiplexer, Role
from tests.relayproto.stream_support import Pair, make_pair


def test_phone_refuses_to_open_past_its_limit_until_a_stream_closes():
    pair = make_pair(max_concurrent_streams=2)
    pair.open()
    pair.open()
    with pytest.raises(StreamError) as info:
        pair.phone.open_stream(StreamKind.HTTP, "GET", "/")
    assert info.value.code == "TOO_MANY_STREAMS"
    pair.to_instance(pair.phone.reset_stream(1))
    assert pair.open() == 5


def test_instance_refuses_extra_streams_with_reset_refused():
    pair = Pair(Multiplexer(Role.CLIENT), Multiplexer(Role.SERVER, max_concurrent_streams=1))
    pair.open()
    stream_id, messages = pair.phone.open_stream(StreamKind.HTTP, "GET", "/", end_stream=True)
    assert pair.to_instance(messages) == []
    phone_events, _ = pair.flush()
    assert phone_events == [
        StreamReset(stream_id, ResetCode.REFUSED, "too many concurrent streams", remote=True)
    ]
    assert pair.instance.open_stream_count == 1


def test_half_closed_streams_still_count():
    pair = make_pair(max_concurrent_streams=1)
    pair.open(end_stream=True)
    with pytest.raises(StreamError):
        pair.phone.open_stream(StreamKind.HTTP, "GET", "/")
    pair.to_phone(pair.instance.send_response(1, 204, end_stream=True))
    assert pair.open(end_stream=True) == 3
