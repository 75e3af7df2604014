"""A tampered, truncated or extended record fails to open and breaks the channel."""

from __future__ import annotations

import pytest

from relayproto.errors import RecordError
from tests.relayproto.crypto_support import channel_pair

TEXT = b"a record worth protecting"


@pytest.mark.parametrize("position", [0, 5, len(TEXT) - 1, len(TEXT), len(TEXT) + 15])
@pytest.mark.parametrize("bit", [0x01, 0x80])
def test_flipped_bit_fails(position: int, bit: int) -> None:
    phone, instance = channel_pair()
    record = bytearray(phone.seal(TEXT))
    record[position] ^= bit
    with pytest.raises(RecordError):
        instance.open(bytes(record))
    assert instance.broken and instance.closed


@pytest.mark.parametrize("cut", [1, 15, 16, len(TEXT) + 16])
def test_truncated_record_fails(cut: int) -> None:
    phone, instance = channel_pair()
    record = phone.seal(TEXT)
    with pytest.raises(RecordError):
        instance.open(record[:-cut])
    assert instance.broken


def test_extended_record_fails() -> None:
    phone, instance = channel_pair()
    with pytest.raises(RecordError):
        instance.open(phone.seal(TEXT) + b"\x00")


def test_failed_open_does_not_advance_the_counter() -> None:
    phone, instance = channel_pair()
    instance.open(phone.seal(b"first"))
    bad = bytearray(phone.seal(b"second"))
    bad[0] ^= 1
    with pytest.raises(RecordError):
        instance.open(bytes(bad))
    assert instance.records_received == 1


def test_record_from_another_session_fails() -> None:
    phone, _ = channel_pair()
    _, other_instance = channel_pair()
    with pytest.raises(RecordError):
        other_instance.open(phone.seal(TEXT))
