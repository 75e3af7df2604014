"""The short authentication string: 6 digits, same on both screens, different per session."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from relayproto.errors import HandshakeError
from relayproto.handshake import SAS_LABEL, short_auth_string
from tests.relayproto.crypto_support import device_session, phone


def test_both_sides_show_the_same_six_digits() -> None:
    session = device_session()
    assert session.phone.sas == session.instance.sas
    assert len(session.phone.sas) == 6 and session.phone.sas.isdigit()
    assert session.phone.sas == short_auth_string(session.phone.handshake_hash)


def test_each_session_has_its_own_code() -> None:
    codes = {device_session().phone.sas for _ in range(5)}
    assert len(codes) >= 4  # fresh ephemerals; a collision has probability ~10^-5


def test_derivation_is_domain_separated_hmac_reduced_from_64_bits() -> None:
    h = hashlib.sha256(b"any transcript").digest()
    digest = hmac.new(SAS_LABEL, h, hashlib.sha256).digest()
    assert short_auth_string(h) == f"{int.from_bytes(digest[:8], 'big') % 10**6:06d}"
    assert SAS_LABEL == b"pulse-relay sas v1"


def test_codes_are_zero_padded() -> None:
    codes = [short_auth_string(hashlib.sha256(bytes([i])).digest()) for i in range(64)]
    assert all(len(code) == 6 for code in codes)
    assert any(code.startswith("0") for code in codes)


def test_codes_spread_over_the_whole_range() -> None:
    codes = [int(short_auth_string(hashlib.sha256(i.to_bytes(2)).digest())) for i in range(2000)]
    buckets = [0] * 10
    for code in codes:
        buckets[code // 100_000] += 1
    assert min(buckets) > 130 and max(buckets) < 270


def test_handshake_not_complete_has_no_code() -> None:
    with pytest.raises(HandshakeError):
        _ = phone().sas


@pytest.mark.parametrize("bad", [b"", bytes(31), bytes(33), "0" * 32])
def test_bad_hash_is_a_handshake_error(bad: object) -> None:
    with pytest.raises(HandshakeError):
        short_auth_string(bad)  # type: ignore[arg-type]


def test_code_stays_readable_after_taking_the_channel() -> None:
    session = device_session()
    code = session.instance.sas
    session.instance.secure_channel()
    assert session.instance.sas == code
    assert session.instance.complete
