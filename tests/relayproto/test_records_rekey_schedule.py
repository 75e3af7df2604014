"""Both sides rekey every interval-th record per direction, with no signalling."""

from __future__ import annotations

import pytest

from relayproto.errors import RecordError
from relayproto.noise import CipherState
from relayproto.records import REKEY_INTERVAL, SecureChannel
from tests.relayproto.crypto_support import channel_pair, key


def test_default_interval_is_2_to_the_16() -> None:
    assert REKEY_INTERVAL == 65536


@pytest.mark.parametrize("interval", [1, 2, 5])
def test_both_sides_agree_across_many_boundaries(interval: int) -> None:
    phone, instance = channel_pair(rekey_interval=interval)
    for n in range(4 * interval + 3):
        text = n.to_bytes(4, "big")
        assert instance.open(phone.seal(text)) == text
        if n % 2:
            assert phone.open(instance.seal(text)) == text


def test_schedule_is_rekey_before_every_interval_th_record_with_the_nonce_kept() -> None:
    interval = 3
    send_key = key("send")
    channel = SecureChannel(send_key, key("recv"), rekey_interval=interval)
    reference = CipherState(send_key)
    for n in range(10):
        if n and n % interval == 0:
            reference.rekey()
        assert channel.seal(b"x") == reference.encrypt_with_ad(b"", b"x")
    assert reference.nonce == 10


def test_mismatched_intervals_fail_at_the_first_boundary() -> None:
    send_key, recv_key = key("a"), key("b")
    sender = SecureChannel(send_key, recv_key, rekey_interval=4)
    receiver = SecureChannel(recv_key, send_key, rekey_interval=8)
    for _ in range(4):
        receiver.open(sender.seal(b"in step"))
    with pytest.raises(RecordError):
        receiver.open(sender.seal(b"out of step"))


def test_seal_many_and_open_many_cross_boundaries() -> None:
    phone, instance = channel_pair(rekey_interval=3)
    chunks = [bytes([i]) * 10 for i in range(7)]
    assert instance.open_many(phone.seal_many(chunks)) == chunks
    assert instance.open(phone.seal(b"after")) == b"after"
    big = [bytes([i]) * 8192 for i in range(5)]
    assert instance.open_many(phone.seal_many(big)) == big
    assert phone.records_sent == instance.records_received == 13


@pytest.mark.parametrize("interval", [0, -1, True, 2.5])
def test_invalid_intervals_are_refused(interval: object) -> None:
    with pytest.raises(RecordError):
        SecureChannel(key("a"), key("b"), rekey_interval=interval)  # type: ignore[arg-type]
