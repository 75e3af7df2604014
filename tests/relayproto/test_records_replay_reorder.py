"""Records must arrive in order and exactly once: replays, reorderings and gaps all fail."""

from __future__ import annotations

import pytest

from relayproto.errors import RecordError
from tests.relayproto.crypto_support import channel_pair


def test_replayed_record_fails() -> None:
    phone, instance = channel_pair()
    record = phone.seal(b"once")
    assert instance.open(record) == b"once"
    with pytest.raises(RecordError):
        instance.open(record)
    assert instance.broken


def test_reordered_records_fail() -> None:
    phone, instance = channel_pair()
    first, second = phone.seal(b"first"), phone.seal(b"second")
    with pytest.raises(RecordError):
        instance.open(second)
    with pytest.raises(RecordError):
        instance.open(first)  # the channel is already broken


def test_dropped_record_fails_the_next_one() -> None:
    phone, instance = channel_pair()
    phone.seal(b"lost in transit")
    with pytest.raises(RecordError):
        instance.open(phone.seal(b"arrives"))


def test_record_replayed_across_directions_fails() -> None:
    phone, instance = channel_pair()
    record = phone.seal(b"reflected")
    with pytest.raises(RecordError):
        phone.open(record)
    assert instance.open(record) == b"reflected"
