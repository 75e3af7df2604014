"""The Noise engine never advances state on a failed read and enforces the spec's limits."""

from __future__ import annotations

import pytest

from relayproto.errors import HandshakeError, RecordError
from relayproto.noise import (
    MAX_NONCE,
    CipherState,
    HandshakeState,
    PatternSpec,
    hkdf,
    rekey_key,
)
from tests.relayproto.crypto_support import DEVICE_PSK, INSTANCE_PUBLIC, INSTANCE_STATIC, key

NAME = "Noise_IKpsk2_25519_ChaChaPoly_SHA256"


def _pair() -> tuple[HandshakeState, HandshakeState]:
    initiator = HandshakeState(
        NAME,
        initiator=True,
        static_private=key("phone"),
        remote_static=INSTANCE_PUBLIC,
        psks=[DEVICE_PSK],
    )
    responder = HandshakeState(NAME, initiator=False, static_private=INSTANCE_STATIC)
    return initiator, responder


def _state(hs: HandshakeState) -> tuple:
    sym = hs.symmetric
    return (sym.ck, sym.h, sym.cipher.key, sym.cipher.nonce, hs.re, hs.rs, hs.complete)


def test_failed_handshake_read_leaves_ck_h_and_nonce_untouched_and_retry_succeeds() -> None:
    initiator, responder = _pair()
    message1 = initiator.write_message(b"hello")
    before = _state(responder)
    tampered = message1[:-1] + bytes([message1[-1] ^ 1])
    with pytest.raises(HandshakeError):
        responder.read_message(tampered)
    assert _state(responder) == before
    assert responder.read_message(message1) == b"hello"


def test_failed_read_of_message2_leaves_initiator_untouched() -> None:
    initiator, responder = _pair()
    responder.read_message(initiator.write_message(b""))
    responder.add_psk(DEVICE_PSK)
    message2 = responder.write_message(b"answer")
    before = _state(initiator)
    with pytest.raises(HandshakeError):
        initiator.read_message(message2[:40])
    assert _state(initiator) == before
    assert initiator.read_message(message2) == b"answer"
    assert initiator.handshake_hash == responder.handshake_hash


def test_psk_token_without_psk_fails_and_can_be_supplied_late() -> None:
    initiator, responder = _pair()
    responder.read_message(initiator.write_message(b""))
    with pytest.raises(HandshakeError):
        responder.write_message(b"")
    assert not responder.complete
    responder.add_psk(DEVICE_PSK)
    initiator.read_message(responder.write_message(b""))
    assert initiator.complete and responder.complete


def test_turn_order_is_enforced() -> None:
    initiator, responder = _pair()
    with pytest.raises(HandshakeError):
        initiator.read_message(b"\x00" * 100)
    with pytest.raises(HandshakeError):
        responder.write_message(b"")
    with pytest.raises(HandshakeError):
        initiator.split()


@pytest.mark.parametrize(
    "name",
    [
        "Noise_IKpsk2_448_ChaChaPoly_SHA256",
        "Noise_IKpsk2_25519_AESGCM_SHA256",
        "Noise_ZZ_25519_ChaChaPoly_SHA256",
        "Noise_NNpsk3_25519_ChaChaPoly_SHA256",
        "Noise_IK_psk2_25519_ChaChaPoly_SHA256",
        "IK",
    ],
)
def test_unsupported_protocol_names_are_handshake_errors(name: str) -> None:
    with pytest.raises(HandshakeError):
        PatternSpec(name)


def test_psk_modifiers_place_the_psk_token() -> None:
    assert PatternSpec("Noise_IKpsk2_25519_ChaChaPoly_SHA256").messages == (
        ("e", "es", "s", "ss"),
        ("e", "ee", "se", "psk"),
    )
    assert PatternSpec("Noise_NNpsk0+psk2_25519_ChaChaPoly_SHA256").messages == (
        ("psk", "e"),
        ("e", "ee", "psk"),
    )


def test_cipher_nonce_2_64_minus_1_is_never_used() -> None:
    cipher = CipherState(key("k"), error=RecordError)
    cipher.set_nonce(MAX_NONCE - 1)
    cipher.encrypt_with_ad(b"", b"last one")
    assert cipher.nonce == MAX_NONCE
    with pytest.raises(RecordError):
        cipher.encrypt_with_ad(b"", b"one too many")
    with pytest.raises(RecordError):
        cipher.decrypt_with_ad(b"", bytes(32))


def test_failed_cipher_decrypt_keeps_the_nonce() -> None:
    sender, receiver = CipherState(key("k")), CipherState(key("k"))
    ciphertext = sender.encrypt_with_ad(b"ad", b"payload")
    with pytest.raises(HandshakeError):
        receiver.decrypt_with_ad(b"other ad", ciphertext)
    with pytest.raises(HandshakeError):
        receiver.decrypt_with_ad(b"ad", ciphertext[:10])
    assert receiver.nonce == 0
    assert receiver.decrypt_with_ad(b"ad", ciphertext) == b"payload"
    assert receiver.nonce == 1


def test_rekey_follows_section_4_2_and_keeps_the_nonce() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    k = key("k")
    expected = ChaCha20Poly1305(k).encrypt(b"\x00" * 4 + b"\xff" * 8, bytes(32), b"")[:32]
    assert rekey_key(k) == expected
    cipher = CipherState(k)
    cipher.encrypt_with_ad(b"", b"x")
    cipher.rekey()
    assert cipher.key == expected and cipher.nonce == 1
    with pytest.raises(HandshakeError):
        CipherState().rekey()


def test_hkdf_matches_the_spec_definition() -> None:
    import hashlib
    import hmac

    ck, ikm = key("ck"), key("ikm")
    temp = hmac.new(ck, ikm, hashlib.sha256).digest()
    out1 = hmac.new(temp, b"\x01", hashlib.sha256).digest()
    out2 = hmac.new(temp, out1 + b"\x02", hashlib.sha256).digest()
    out3 = hmac.new(temp, out2 + b"\x03", hashlib.sha256).digest()
    assert hkdf(ck, ikm, 2) == (out1, out2)
    assert hkdf(ck, ikm, 3) == (out1, out2, out3)


def test_oversized_handshake_message_is_rejected() -> None:
    _, responder = _pair()
    with pytest.raises(HandshakeError):
        responder.read_message(bytes(65536))
    initiator, _ = _pair()
    with pytest.raises(HandshakeError):
        initiator.write_message(bytes(65535))
    assert initiator.symmetric.cipher.nonce == 0
