"""Every valid frame, control message and inner message survives encode → decode unchanged."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from relayproto import inner
from relayproto.control import (
    Close,
    CloseReason,
    Connect,
    ConnectAck,
    Drain,
    Error,
    Limits,
    Open,
    Register,
    RegisterAck,
    decode_control,
    encode_control,
)
from relayproto.frames import CHANNEL_FRAME_TYPES, ErrorCode, FrameType, decode_frame, encode_frame
from relayproto.inner import (
    CloseCode,
    Data,
    End,
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
    encode_message,
)

PROPERTY = settings(max_examples=120, deadline=None)

u32 = st.integers(min_value=0, max_value=2**32 - 1)
window = st.integers(min_value=1, max_value=2**31 - 1)
token = st.text(alphabet=[chr(c) for c in range(0x21, 0x7F)], min_size=1, max_size=40)
instance_id = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=64)
message_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=80)
max_frame = st.integers(min_value=4096, max_value=16 * 1024 * 1024)
retry = st.integers(min_value=0, max_value=86_400)

control_messages = st.one_of(
    st.builds(Register, licence=token, client=token, resume_token=st.none() | token),
    st.builds(
        RegisterAck,
        instance_id=instance_id,
        resume_token=token,
        resume_expires_at=st.integers(min_value=0, max_value=2**40),
        limits=st.builds(
            Limits,
            max_frame=max_frame,
            window=window,
            max_channels=st.integers(min_value=1, max_value=1_000_000),
            ping_interval=st.integers(min_value=1, max_value=3600),
        ),
    ),
    st.builds(
        Connect,
        ref=u32,
        instance_id=instance_id,
        routing_token=st.none() | token,
        client=st.none() | token,
    ),
    st.builds(ConnectAck, ref=u32, window=window, max_frame=max_frame),
    st.builds(
        Open,
        window=window,
        max_frame=max_frame,
        routing_hash=st.none() | st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
        client=st.none() | token,
    ),
    st.builds(Close, code=st.sampled_from(list(CloseReason)), message=message_text),
    st.builds(
        Error,
        code=st.sampled_from(list(ErrorCode)),
        message=message_text,
        retry_after=st.none() | retry,
        ref=st.none() | u32,
    ),
    st.builds(Drain, retry_after=retry, reconnect=st.none() | token.map(lambda t: "wss://" + t)),
)


@PROPERTY
@given(
    st.sampled_from(list(FrameType)),
    st.integers(min_value=1, max_value=2**32 - 1),
    st.binary(max_size=600),
)
def test_frames_round_trip(frame_type, channel, payload):
    if frame_type is FrameType.CREDIT:
        payload = payload[:4].ljust(4, b"\x01")
    elif frame_type in (FrameType.PING, FrameType.PONG):
        payload = payload[:8].ljust(8, b"\x00")
    channel_id = channel if frame_type in CHANNEL_FRAME_TYPES else 0
    frame = decode_frame(encode_frame(frame_type, channel_id, payload))
    assert (frame.type, frame.channel_id, bytes(frame.payload)) == (frame_type, channel_id, payload)


@PROPERTY
@given(control_messages, st.integers(min_value=1, max_value=2**32 - 1))
def test_control_messages_round_trip(message, channel):
    channel_id = channel if message.FRAME_TYPE in CHANNEL_FRAME_TYPES else 0
    assert decode_control(decode_frame(encode_control(message, channel_id))) == message


stream_id = st.integers(min_value=1, max_value=2**32 - 1)
header_name = st.text(
    alphabet=string.ascii_lowercase + string.digits + "-_.!#", min_size=1, max_size=30
)
header_value = st.text(
    alphabet=st.characters(max_codepoint=0xFF, blacklist_characters="\x00\r\n"), max_size=40
)
headers = st.lists(st.tuples(header_name, header_value), max_size=6).map(tuple)
path = st.text(alphabet=[chr(c) for c in range(0x21, 0x7F)], max_size=60).map(lambda p: "/" + p)
method = st.text(alphabet=string.ascii_uppercase + "-", min_size=1, max_size=12)
status = st.sampled_from([101, 200, 204, 301, 404, 500, 599])
eight = st.binary(min_size=8, max_size=8)

inner_messages = st.one_of(
    st.builds(
        StreamOpen,
        stream_id,
        st.sampled_from(list(StreamKind)),
        method,
        path,
        headers,
        st.booleans(),
    ),
    st.builds(ResponseHead, stream_id, status, headers, st.booleans()),
    st.builds(Data, stream_id, st.binary(max_size=300)),
    st.builds(End, stream_id),
    st.builds(Trailers, stream_id, headers),
    st.builds(WsMessage, stream_id, st.binary(max_size=300), st.booleans(), st.booleans()),
    st.builds(
        WsClose,
        stream_id,
        st.sampled_from([1000, 1001, 1011, 3000, 4999]),
        message_text.filter(lambda r: len(r.encode()) <= 123),
    ),
    st.builds(Reset, stream_id, st.sampled_from(list(ResetCode)), message_text),
    st.builds(WindowUpdate, st.integers(min_value=0, max_value=2**32 - 1), window),
    st.builds(Ping, eight),
    st.builds(Pong, eight),
    st.builds(
        PairConfirm,
        st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40),
        st.text(alphabet=[chr(c) for c in range(0x21, 0x7F)], min_size=1, max_size=32),
    ),
    st.builds(PairResult, st.sampled_from(list(PairStatus))),
    st.builds(inner.Close, st.sampled_from(list(CloseCode)), message_text),
)


@PROPERTY
@given(inner_messages)
def test_inner_messages_round_trip(message):
    assert decode_message(encode_message(message)) == message
