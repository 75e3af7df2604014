"""Key generation, public keys and display fingerprints."""

from __future__ import annotations

import hashlib
import re

import pytest

from relayproto.errors import HandshakeError
from relayproto.handshake import (
    generate_pairing_id,
    generate_psk,
    generate_static_key,
    key_fingerprint,
    public_key,
)


def test_generated_material_has_the_right_sizes_and_is_fresh() -> None:
    assert len(generate_static_key()) == 32
    assert len(generate_psk()) == 32
    assert len(generate_pairing_id()) == 16
    assert generate_static_key() != generate_static_key()
    assert generate_psk() != generate_psk()


def test_public_key_matches_rfc7748_test_vector() -> None:
    # RFC 7748 section 6.1, Alice's key pair.
    private = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    expected = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    assert public_key(private).hex() == expected


def test_fingerprint_is_sha256_prefix_in_five_groups() -> None:
    public = public_key(generate_static_key())
    fingerprint = key_fingerprint(public)
    assert re.fullmatch(r"[0-9a-f]{4}(-[0-9a-f]{4}){4}", fingerprint)
    assert fingerprint.replace("-", "") == hashlib.sha256(public).hexdigest()[:20]


@pytest.mark.parametrize("bad", [b"", bytes(31), bytes(33), "x" * 32])
def test_bad_key_lengths_are_handshake_errors(bad: object) -> None:
    with pytest.raises(HandshakeError):
        key_fingerprint(bad)  # type: ignore[arg-type]
    with pytest.raises(HandshakeError):
        public_key(bad)  # type: ignore[arg-type]
