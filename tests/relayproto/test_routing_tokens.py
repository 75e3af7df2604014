"""Routing tokens derive from shared secrets; ROUTES carries only their hashes, bounded."""

import hashlib

import pytest

from relayproto.control import MAX_ROUTES, Routes, decode_control, encode_control, routes_frames
from relayproto.errors import FrameError
from relayproto.frames import FrameType, decode_frame
from relayproto.routing import routing_hash, routing_token


def test_token_is_a_stable_function_of_the_secret():
    secret = bytes(range(32))
    assert routing_token(secret) == routing_token(bytes(range(32)))
    assert routing_token(secret) != routing_token(bytes(32))
    assert len(routing_token(secret)) == 43


def test_hash_is_the_sha256_the_relay_compares():
    token = routing_token(b"k" * 32)
    assert routing_hash(token) == hashlib.sha256(token.encode()).hexdigest()


def test_routes_round_trip_sorted_and_deduplicated():
    hashes = [routing_hash(routing_token(bytes([i]) * 32)) for i in range(3)]
    frame = decode_frame(encode_control(Routes(hashes=hashes + hashes[:1])))
    assert frame.type is FrameType.ROUTES and frame.channel_id == 0
    assert decode_control(frame).hashes == tuple(sorted(hashes))


def test_an_empty_list_admits_nobody_but_is_valid():
    assert decode_control(decode_frame(encode_control(Routes(hashes=[])))).hashes == ()


def test_too_many_routes_are_refused():
    many = [hashlib.sha256(bytes([i, j])).hexdigest() for i in range(2) for j in range(40)]
    assert len(many) > MAX_ROUTES
    with pytest.raises(FrameError, match="at most"):
        Routes(hashes=many)


@pytest.mark.parametrize("bad", ["nothex", "A" * 64, 42, None])
def test_a_malformed_hash_names_its_position(bad):
    with pytest.raises(FrameError, match=r"hashes\[1\]|hashes"):
        Routes(hashes=["a" * 64, bad])


def test_a_long_list_becomes_several_frames_each_within_the_control_limit():
    many = [hashlib.sha256(n.to_bytes(4, "big")).hexdigest() for n in range(1000)]
    messages = routes_frames(many)
    assert len(messages) == -(-1000 // MAX_ROUTES)
    assert [m.more for m in messages] == [True] * (len(messages) - 1) + [None]
    decoded = [decode_control(decode_frame(encode_control(m))) for m in messages]
    assert sorted(h for m in decoded for h in m.hashes) == sorted(many)
    assert all(len(encode_control(m)) <= 12 + 4096 for m in messages)


def test_an_empty_list_is_one_frame_without_more():
    (only,) = routes_frames([])
    assert only.hashes == () and only.more is None


def test_more_false_is_the_default_and_anything_but_a_boolean_is_refused():
    frame = encode_control(Routes(hashes=[], more=True))
    assert b'"more":true' in frame
    assert b"more" not in encode_control(Routes(hashes=[], more=False))
    with pytest.raises(FrameError, match="true or false"):
        Routes(hashes=[], more="yes")
