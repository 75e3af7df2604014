"""Plaintexts are 1..65519 bytes and records at most 65535; a local size error breaks nothing."""

from __future__ import annotations

import array

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from relayproto.errors import RecordError
from relayproto.records import MAX_PLAINTEXT, SecureChannel
from tests.relayproto.crypto_support import channel_pair, key


@pytest.mark.parametrize("size", [0, MAX_PLAINTEXT + 1, 1 << 20])
def test_seal_refuses_sizes_outside_1_to_max(size: int) -> None:
    phone, instance = channel_pair()
    with pytest.raises(RecordError):
        phone.seal(bytes(size))
    assert not phone.closed and phone.records_sent == 0
    assert instance.open(phone.seal(b"still fine")) == b"still fine"


def test_size_counts_bytes_not_items() -> None:
    phone, _ = channel_pair()
    wide = array.array("I", bytes(65524))  # 16381 items, but more bytes than allowed
    with pytest.raises(RecordError):
        phone.seal(memoryview(wide))


def test_open_refuses_records_longer_than_65535() -> None:
    _, instance = channel_pair()
    with pytest.raises(RecordError):
        instance.open(bytes(65536))
    assert instance.broken


def test_empty_plaintext_never_arrives() -> None:
    # Only a peer that ignores the size rule could send one; it still breaks the channel.
    forged = ChaCha20Poly1305(key("k")).encrypt(bytes(12), b"", None)
    channel = SecureChannel(key("other"), key("k"))
    with pytest.raises(RecordError):
        channel.open(forged)
    assert channel.broken


@pytest.mark.parametrize("bad", [None, 42, "text", object()])
def test_non_bytes_are_record_errors(bad: object) -> None:
    phone, instance = channel_pair()
    with pytest.raises(RecordError):
        phone.seal(bad)  # type: ignore[arg-type]
    with pytest.raises(RecordError):
        instance.open(bad)  # type: ignore[arg-type]
