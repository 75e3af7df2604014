"""Any input into any decoder yields a value or the typed ProtocolError, never another exception."""

from __future__ import annotations

import contextlib
import json
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relayproto.control import CONTROL_CLASSES, decode_control
from relayproto.errors import FrameError, StreamError
from relayproto.frames import (
    CHANNEL_FRAME_TYPES,
    FrameType,
    decode_credit,
    decode_frame,
    decode_ping,
    peek_header,
)
from relayproto.inner import MessageType, decode_message
from relayproto.streams import Multiplexer, Role

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "licence", "client", "resume_token", "instance_id", "resume_expires_at", "limits",
        "max_frame", "window", "max_channels", "ping_interval", "ref", "routing_token",
        "routing_hash", "code", "message", "retry_after", "reconnect", "x-ext", "other",
    ]
)  # fmt: skip
control_objects = st.dictionaries(field_names, json_values, max_size=6).map(
    lambda obj: {"v": 1, **obj}
)


def _frame_bytes(type_: int, channel: int, payload: bytes) -> bytes:
    return struct.pack("!BBHII", 1, type_, 0, channel, len(payload)) + payload


@FAST
@given(st.binary(max_size=64))
def test_any_bytes_into_decode_frame_and_peek_header(data):
    for decoder in (decode_frame, peek_header):
        with contextlib.suppress(FrameError):
            decoder(data, max_payload=32)


@FAST
@given(st.sampled_from(list(FrameType)), st.binary(max_size=300))
def test_any_payload_behind_a_valid_header_into_decode_control(frame_type, payload):
    channel = 1 if frame_type in CHANNEL_FRAME_TYPES else 0
    try:
        frame = decode_frame(_frame_bytes(frame_type, channel, payload))
        decode_control(frame)
    except FrameError:
        pass


@FAST
@given(
    st.sampled_from(sorted(CONTROL_CLASSES.values(), key=lambda c: c.__name__)),
    st.binary(max_size=200),
)
def test_any_bytes_into_each_control_decoder(cls, payload):
    with contextlib.suppress(FrameError):
        cls.from_payload(payload)


@FAST
@given(st.sampled_from(sorted(CONTROL_CLASSES.values(), key=lambda c: c.__name__)), control_objects)
def test_any_json_object_into_each_control_decoder(cls, obj):
    try:
        payload = json.dumps(obj).encode()
    except (ValueError, OverflowError):
        return
    with contextlib.suppress(FrameError):
        cls.from_payload(payload)


@FAST
@given(st.binary(max_size=8))
def test_any_bytes_into_the_binary_control_decoders(data):
    for decoder in (decode_credit, decode_ping):
        with contextlib.suppress(FrameError):
            decoder(data)


@FAST
@given(st.binary(max_size=80))
def test_any_bytes_into_decode_message(data):
    with contextlib.suppress(StreamError):
        decode_message(data)


@FAST
@given(
    st.sampled_from(list(MessageType)),
    st.integers(min_value=0, max_value=9),
    st.binary(max_size=60),
)
def test_any_body_behind_a_valid_inner_header(type_, stream_id, body):
    with contextlib.suppress(StreamError):
        decode_message(struct.pack("!BI", type_, stream_id) + body)


inner_messages = st.builds(
    lambda t, s, b: struct.pack("!BI", t, s) + b,
    st.sampled_from(list(MessageType)),
    st.sampled_from([0, 1, 2, 3, 5]),
    st.binary(max_size=24),
)


@FAST
@given(st.sampled_from(list(Role)), st.lists(inner_messages, max_size=12))
def test_any_message_sequence_into_a_multiplexer(role, messages):
    mux = Multiplexer(role)
    if role is Role.CLIENT:
        mux.open_stream(1, "GET", "/")
        mux.open_stream(3, "GET", "/ws")
    for message in messages:
        try:
            mux.receive(message)
        except StreamError:
            break
    mux.data_to_send()
    mux.connection_lost()
