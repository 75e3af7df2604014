"""A licence may cap its instance's channels and bandwidth (claim ``limits``); a cap the relay
does not know, or a nonsense value, refuses the licence instead of being ignored."""

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from relayproto import licence

NOW = 1_800_000_000


@pytest.fixture(scope="module")
def operator_key():
    return Ed25519PrivateKey.generate()


def signed(key, claims: dict) -> str:
    """A token over exactly ``claims``, validly signed (to reach the claim checks)."""
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    signed_part = f"{licence.TOKEN_PREFIX}.{body}"
    signature = base64.urlsafe_b64encode(key.sign(signed_part.encode())).rstrip(b"=").decode()
    return f"{signed_part}.{signature}"


def claims_with(key, limits) -> dict:
    token = licence.issue(key, name="home", days=1, instance_id="home-1", now=NOW)
    body = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["limits"] = limits
    return claims


def test_limits_are_signed_into_the_licence_and_read_back(operator_key):
    token = licence.issue(
        operator_key,
        name="home",
        days=1,
        now=NOW,
        limits={"channels": 8, "bytes_per_second": 1_000_000},
    )
    verified = licence.verify(token, [operator_key.public_key()], now=NOW)
    assert verified.max_channels == 8 and verified.bytes_per_second == 1_000_000
    assert verified.limits() == {"channels": 8, "bytes_per_second": 1_000_000}
    assert verified.as_dict()["limits"] == verified.limits()


def test_a_licence_without_limits_leaves_the_relay_settings(operator_key):
    token = licence.issue(operator_key, name="home", days=1, now=NOW)
    verified = licence.verify(token, [operator_key.public_key()], now=NOW)
    assert verified.max_channels is None and verified.bytes_per_second is None
    assert verified.limits() == {}


def test_a_cap_this_relay_does_not_know_refuses_the_licence(operator_key):
    token = signed(operator_key, claims_with(operator_key, {"channels": 4, "phones": 2}))
    with pytest.raises(licence.LicenceError, match="upgrade the relay") as caught:
        licence.verify(token, [operator_key.public_key()], now=NOW)
    assert caught.value.code == "LICENSE_INVALID"


@pytest.mark.parametrize(
    "limits", [{"channels": 0}, {"channels": -1}, {"channels": True}, {"channels": "8"},
               {"bytes_per_second": 1.5}, ["channels", 8], "8"],
)  # fmt: skip
def test_nonsense_caps_refuse_the_licence(operator_key, limits):
    token = signed(operator_key, claims_with(operator_key, limits))
    with pytest.raises(licence.LicenceError, match="limit"):
        licence.verify(token, [operator_key.public_key()], now=NOW)


def test_issue_refuses_nonsense_caps(operator_key):
    with pytest.raises(licence.LicenceError, match="positive integer"):
        licence.issue(operator_key, name="home", days=1, limits={"channels": 0})
    with pytest.raises(licence.LicenceError, match="does not know"):
        licence.issue(operator_key, name="home", days=1, limits={"sockets": 3})
