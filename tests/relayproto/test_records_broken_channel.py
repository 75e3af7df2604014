"""A broken or closed channel stays unusable; the counter can never wrap."""

from __future__ import annotations

import pytest

from relayproto.errors import RecordError
from relayproto.noise import MAX_NONCE
from relayproto.records import SecureChannel, pack_records
from tests.relayproto.crypto_support import channel_pair, key


def _every_call_fails(channel: SecureChannel, good_record: bytes) -> None:
    for call, arg in [
        (channel.seal, b"x"),
        (channel.open, good_record),
        (channel.seal_many, [b"x"]),
        (channel.seal_many, []),
        (channel.open_many, pack_records([good_record])),
    ]:
        with pytest.raises(RecordError):
            call(arg)


def test_broken_channel_refuses_everything_even_the_right_record() -> None:
    phone, instance = channel_pair()
    good = phone.seal(b"good")
    with pytest.raises(RecordError):
        instance.open(good[:-1])
    assert instance.broken and instance.closed
    _every_call_fails(instance, good)


def test_closed_channel_refuses_everything() -> None:
    phone, instance = channel_pair()
    good = phone.seal(b"good")
    instance.close()
    instance.close()  # idempotent
    assert instance.closed and not instance.broken
    _every_call_fails(instance, good)


def test_failure_inside_open_many_breaks_the_channel() -> None:
    phone, instance = channel_pair()
    records = [phone.seal(b"one"), phone.seal(b"two")]
    payload = bytearray(pack_records(records))
    payload[-1] ^= 1
    with pytest.raises(RecordError):
        instance.open_many(bytes(payload))
    assert instance.broken


def test_send_counter_stops_before_2_to_the_64_minus_1() -> None:
    channel = SecureChannel(key("a"), key("b"), rekey_interval=1 << 70)
    channel._send_n = MAX_NONCE - 1  # what 2^64 - 1 records would take
    channel._send_limit = MAX_NONCE
    channel.seal(b"last")
    with pytest.raises(RecordError):
        channel.seal(b"one too many")
    assert channel.broken


def test_receive_counter_stops_before_2_to_the_64_minus_1() -> None:
    channel = SecureChannel(key("a"), key("b"), rekey_interval=1 << 70)
    channel._recv_n = MAX_NONCE
    channel._recv_limit = MAX_NONCE
    with pytest.raises(RecordError):
        channel.open(bytes(32))
    assert channel.broken


def test_bad_keys_are_refused() -> None:
    with pytest.raises(RecordError):
        SecureChannel(b"short", key("b"))
