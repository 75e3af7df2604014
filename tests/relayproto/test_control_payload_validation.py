"""Control payloads: versioned compact JSON, strictly validated, errors name the field."""

from __future__ import annotations

import json

import pytest

from relayproto.control import (
    CONTROL_CLASSES,
    Close,
    CloseReason,
    Connect,
    ConnectAck,
    Credit,
    Drain,
    Error,
    Limits,
    Open,
    Ping,
    Pong,
    Register,
    RegisterAck,
    decode_control,
    encode_control,
)
from relayproto.errors import FrameError
from relayproto.frames import ErrorCode, FrameType, decode_frame, encode_credit, encode_ping

LIMITS = Limits(max_frame=1048576, window=4194304, max_channels=64, ping_interval=20)
EXAMPLES = [
    (Register(licence="pulse-lic1.abc.def", client="pulse-relay/0.1.0"), 0),
    (Register(licence="t", client="c", resume_token="r-1"), 0),
    (RegisterAck("home-1", "resume-xyz", 1767225600, LIMITS), 0),
    (Connect(ref=1, instance_id="home-1"), 0),
    (Connect(ref=2, instance_id="a_B-9", routing_token="rt", client="ios/1.0"), 0),
    (ConnectAck(ref=1, window=4194304, max_frame=1048576), 17),
    (Open(window=4194304, max_frame=1048576), 17),
    (Open(window=1, max_frame=4096, routing_hash="ab" * 32, client="cli/0.1"), 17),
    (Close(CloseReason.NORMAL), 17),
    (Close(CloseReason.WINDOW_EXCEEDED, "over by 12 bytes"), 17),
    (Error(ErrorCode.RATE_LIMITED, "slow down", retry_after=30), 0),
    (Error(ErrorCode.INSTANCE_OFFLINE, "", ref=3), 0),
    (Drain(retry_after=5), 0),
    (Drain(retry_after=0, reconnect="wss://relay2.example.net/ws/app"), 0),
]


def _decode(cls, obj) -> object:
    return cls.from_payload(json.dumps(obj).encode())


def _error(cls, obj) -> FrameError:
    with pytest.raises(FrameError) as info:
        _decode(cls, obj)
    return info.value


@pytest.mark.parametrize(("message", "channel_id"), EXAMPLES, ids=lambda v: repr(v)[:40])
def test_control_messages_round_trip_through_frames(message, channel_id):
    data = encode_control(message, channel_id)
    frame = decode_frame(data)
    assert frame.type is message.FRAME_TYPE
    assert frame.channel_id == channel_id
    assert decode_control(frame) == message


def test_every_control_frame_type_has_a_class():
    assert set(CONTROL_CLASSES) == set(FrameType) - {
        FrameType.DATA,
        FrameType.CREDIT,
        FrameType.PING,
        FrameType.PONG,
    }


def test_payload_is_compact_json_with_version_first():
    payload = Connect(ref=7, instance_id="home-1").to_payload()
    assert payload == b'{"v":1,"ref":7,"instance_id":"home-1"}'


def test_binary_control_frames_decode_to_typed_values():
    assert decode_control(decode_frame(encode_credit(3, 1000))) == Credit(1000)
    assert decode_control(decode_frame(encode_ping(b"abcdefgh"))) == Ping(b"abcdefgh")
    assert decode_control(decode_frame(encode_ping(b"abcdefgh", pong=True))) == Pong(b"abcdefgh")


def test_data_frames_have_no_control_payload():
    from relayproto.frames import encode_frame

    with pytest.raises(FrameError):
        decode_control(decode_frame(encode_frame(FrameType.DATA, 1, b"{}")))


def test_missing_field_is_named():
    error = _error(Connect, {"v": 1, "ref": 1})
    assert "'instance_id'" in str(error)
    assert error.code == "MALFORMED_FRAME"


def test_null_required_field_is_missing():
    assert "'ref'" in str(_error(Connect, {"v": 1, "ref": None, "instance_id": "a"}))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ref", "1"),
        ("ref", 1.0),
        ("ref", True),
        ("ref", -1),
        ("ref", 2**32),
        ("instance_id", 5),
        ("instance_id", ""),
        ("instance_id", "a" * 65),
        ("instance_id", "has space"),
        ("instance_id", "ünï"),
        ("routing_token", ""),
        ("routing_token", "with space"),
        ("routing_token", ["list"]),
        ("client", {"an": "object"}),
    ],
)
def test_wrongly_typed_or_out_of_range_field_is_named(field, value):
    obj = {"v": 1, "ref": 1, "instance_id": "home-1", field: value}
    error = _error(Connect, obj)
    assert f"'{field}'" in str(error)
    assert error.code == "MALFORMED_FRAME"


def test_unknown_field_is_an_error_unless_it_is_an_extension():
    assert "'colour'" in str(_error(Drain, {"v": 1, "retry_after": 1, "colour": "red"}))
    assert _decode(Drain, {"v": 1, "retry_after": 1, "x-colour": "red"}) == Drain(1)


def test_nested_field_errors_carry_the_path():
    obj = {
        "v": 1,
        "instance_id": "i",
        "resume_token": "r",
        "resume_expires_at": 0,
        "limits": {"max_frame": 1048576, "window": 0, "max_channels": 1, "ping_interval": 1},
    }
    assert "'limits.window'" in str(_error(RegisterAck, obj))
    obj["limits"] = {"max_frame": 1048576, "window": 1, "max_channels": 1}
    assert "'limits.ping_interval'" in str(_error(RegisterAck, obj))
    obj["limits"] = [1]
    assert "'limits'" in str(_error(RegisterAck, obj))


def test_unknown_enum_values_are_rejected():
    assert "'code'" in str(_error(Error, {"v": 1, "code": "NOPE"}))
    assert "'code'" in str(_error(Close, {"v": 1, "code": "nope"}))


def test_message_text_is_bounded_and_free_of_control_characters():
    assert "'message'" in str(_error(Error, {"v": 1, "code": "INTERNAL", "message": "a\nb"}))
    assert "'message'" in str(_error(Error, {"v": 1, "code": "INTERNAL", "message": "m" * 513}))
    ok = _decode(Error, {"v": 1, "code": "INTERNAL", "message": "déjà vu ✓"})
    assert ok.message == "déjà vu ✓"


def test_drain_reconnect_hint_must_be_a_websocket_url():
    assert "'reconnect'" in str(_error(Drain, {"v": 1, "retry_after": 1, "reconnect": "http://x"}))


@pytest.mark.parametrize("version", [0, 2, 99])
def test_other_payload_versions_are_unsupported(version):
    error = _error(Drain, {"v": version, "retry_after": 1})
    assert error.code == "UNSUPPORTED_VERSION"


@pytest.mark.parametrize("version", [None, "1", 1.0, True])
def test_version_must_be_the_integer_one(version):
    obj = {"retry_after": 1} if version is None else {"v": version, "retry_after": 1}
    assert _error(Drain, obj).code == "MALFORMED_FRAME"


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"[]",
        b'"string"',
        b"null",
        b"{",
        b'{"v":1,"retry_after":1}trailing',
        b'{"v":1,"retry_after":1,"retry_after":2}',
        b'{"v":1,"retry_after":NaN}',
        b'{"v":1,"retry_after":Infinity}',
        b"\xff\xfe{\x00}\x00",
        b'\xef\xbb\xbf{"v":1,"retry_after":1}',
        b'{"v":1,"retry_after":1,"reconnect":"wss://\\ud800"}',
        b"[" * 4000,
        b'{"v":1,"retry_after":1e400}',
    ],
)
def test_malformed_json_is_a_frame_error(payload):
    with pytest.raises(FrameError) as info:
        Drain.from_payload(payload)
    assert info.value.code == "MALFORMED_FRAME"


def test_oversized_control_payload_is_frame_too_large():
    payload = b'{"v":1,"retry_after":1,"x-pad":"' + b"p" * 4096 + b'"}'
    with pytest.raises(FrameError) as info:
        Drain.from_payload(payload)
    assert info.value.code == "FRAME_TOO_LARGE"


def test_the_largest_valid_register_fits_a_control_payload():
    biggest = Register(licence="l" * 3584, client="c" * 64, resume_token="r" * 256)
    assert len(biggest.to_payload()) <= 4096
    with pytest.raises(FrameError, match="'licence'"):
        Register(licence="l" * 3585, client="c")


def test_constructors_validate_like_the_decoder():
    with pytest.raises(FrameError, match="'instance_id'"):
        Connect(ref=1, instance_id="bad id")
    with pytest.raises(FrameError, match="'window'"):
        ConnectAck(ref=1, window=0, max_frame=4096)
    assert Error("RATE_LIMITED").code is ErrorCode.RATE_LIMITED
