"""Records round-trip in both directions and are exactly Noise transport messages."""

from __future__ import annotations

import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from relayproto.errors import RecordError
from relayproto.noise import CipherState
from relayproto.records import MAX_PLAINTEXT, MAX_RECORD, TAG_LEN, SecureChannel
from tests.relayproto.crypto_support import channel_pair, key


@pytest.mark.parametrize("size", [1, 2, 1024, MAX_PLAINTEXT])
def test_round_trip_both_directions(size: int) -> None:
    phone, instance = channel_pair()
    for i in range(3):
        text = bytes([i]) * size
        record = phone.seal(text)
        assert len(record) == size + TAG_LEN
        assert instance.open(record) == text
        assert phone.open(instance.seal(text[::-1])) == text[::-1]
    assert phone.records_sent == phone.records_received == 3
    assert len(phone.seal(bytes(MAX_PLAINTEXT))) == MAX_RECORD


def test_bytes_like_inputs_are_accepted() -> None:
    phone, instance = channel_pair()
    assert instance.open(bytearray(phone.seal(bytearray(b"abc")))) == b"abc"
    assert instance.open(memoryview(phone.seal(memoryview(b"def")))) == b"def"


def test_record_is_chacha20poly1305_with_counter_nonce_and_empty_ad() -> None:
    send_key, recv_key = key("send"), key("recv")
    channel = SecureChannel(send_key, recv_key)
    aead = ChaCha20Poly1305(send_key)
    for n in range(3):
        nonce = b"\x00" * 4 + struct.pack("<Q", n)
        assert channel.seal(b"record") == aead.encrypt(nonce, b"record", b"")


def test_records_equal_noise_cipherstate_transport_messages() -> None:
    send_key = key("send")
    channel = SecureChannel(send_key, key("recv"))
    cipher = CipherState(send_key)
    for n in range(5):
        text = f"message {n}".encode()
        assert channel.seal(text) == cipher.encrypt_with_ad(b"", text)


def test_directions_use_distinct_keys() -> None:
    phone, _ = channel_pair()
    record = phone.seal(b"loopback")
    # A record sealed in one direction never opens in the other, even at the same counter.
    with pytest.raises(RecordError):
        phone.open(record)
