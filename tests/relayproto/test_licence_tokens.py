"""Licence tokens verify offline and fail with the stable code for each kind of fault."""

import base64
import contextlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from relayproto import licence
from relayproto.errors import ProtocolError

NOW = 1_800_000_000


@pytest.fixture(scope="module")
def operator_key():
    return Ed25519PrivateKey.generate()


def issue(key, **kwargs):
    kwargs.setdefault("name", "home")
    kwargs.setdefault("days", 30)
    kwargs.setdefault("now", NOW)
    return licence.issue(key, **kwargs)


def test_valid_licence_verifies_and_carries_its_claims(operator_key):
    token = issue(operator_key, instance_id="inst-1")
    verified = licence.verify(token, [operator_key.public_key()], now=NOW + 10)
    assert verified.instance_id == "inst-1"
    assert verified.name == "home"
    assert verified.features == ("relay",)
    assert verified.expires_at == NOW + 30 * 86400
    assert verified.key_id == licence.key_id(operator_key.public_key())


def test_any_of_several_operator_keys_may_have_signed(operator_key):
    old, new = Ed25519PrivateKey.generate(), operator_key
    keys = [old.public_key(), new.public_key()]
    assert licence.verify(issue(old), keys, now=NOW).name == "home"
    assert licence.verify(issue(new), keys, now=NOW).name == "home"


def test_unknown_signing_key_is_licence_invalid(operator_key):
    with pytest.raises(licence.LicenceError) as caught:
        licence.verify(issue(Ed25519PrivateKey.generate()), [operator_key.public_key()], now=NOW)
    assert caught.value.code == "LICENSE_INVALID"


def test_tampered_claims_fail_the_signature(operator_key):
    prefix, claims, signature = issue(operator_key).split(".")
    data = json.loads(base64.urlsafe_b64decode(claims + "=="))
    data["exp"] += 10 * 365 * 86400
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    with pytest.raises(licence.LicenceError, match="signature") as caught:
        licence.verify(f"{prefix}.{forged}.{signature}", [operator_key.public_key()], now=NOW)
    assert caught.value.code == "LICENSE_INVALID"


def test_expired_licence_is_licence_expired(operator_key):
    token = issue(operator_key, days=1)
    with pytest.raises(licence.LicenceError) as caught:
        licence.verify(token, [operator_key.public_key()], now=NOW + 86400)
    assert caught.value.code == "LICENSE_EXPIRED"


def test_licence_without_the_relay_feature_is_feature_missing(operator_key):
    token = issue(operator_key, features=["metrics"])
    with pytest.raises(licence.LicenceError) as caught:
        licence.verify(token, [operator_key.public_key()], now=NOW)
    assert caught.value.code == "FEATURE_MISSING"


def test_revoked_token_id_is_licence_revoked(operator_key):
    token = issue(operator_key)
    token_id = licence.parse_unverified(token).token_id
    with pytest.raises(licence.LicenceError) as caught:
        licence.verify(token, [operator_key.public_key()], revoked_token_ids=[token_id], now=NOW)
    assert caught.value.code == "LICENSE_REVOKED"


def test_parse_unverified_reads_claims_without_keys(operator_key):
    parsed = licence.parse_unverified(issue(operator_key, name="cabin"))
    assert parsed.name == "cabin"
    assert not parsed.expired(NOW)
    assert "token_id" in parsed.as_dict()


@pytest.mark.parametrize(
    "token",
    ["", "pulse-lic1", "pulse-lic1.a.b.c", "other.e30.AA", "pulse-lic1.!!.AA", "x" * 5000,
     "pulse-lic1.bm90IGpzb24.AA", "pulse-lic1.W10.AA", "pulse-lic1.e30.AA"],
)  # fmt: skip
def test_malformed_tokens_are_licence_invalid(operator_key, token):
    with pytest.raises(licence.LicenceError) as caught:
        licence.verify(token, [operator_key.public_key()], now=NOW)
    assert caught.value.code == "LICENSE_INVALID"


def test_issue_refuses_nonsense(operator_key):
    with pytest.raises(licence.LicenceError):
        issue(operator_key, days=0)
    with pytest.raises(licence.LicenceError):
        issue(operator_key, instance_id="has space")
    with pytest.raises(licence.LicenceError):
        issue(operator_key, name="")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.builds(lambda b: "pulse-lic1." + b, st.text(max_size=200)))
def test_any_string_verifies_or_raises_the_typed_error(token):
    key = Ed25519PrivateKey.from_private_bytes(bytes(32))
    with contextlib.suppress(ProtocolError):
        licence.verify(token, [key.public_key()], now=NOW)
