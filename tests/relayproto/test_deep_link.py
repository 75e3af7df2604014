"""The pulse:// pairing link: round trip, strict parsing, expiry."""

from __future__ import annotations

import contextlib
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relayproto import deeplink
from relayproto.deeplink import DeepLinkError, PairingInvite


def invite(**changes) -> PairingInvite:
    values = {
        "relay_url": "wss://relay.example.org:8443/base",
        "instance_id": "home-1",
        "instance_public_key": os.urandom(32),
        "pairing_id": os.urandom(16),
        "pairing_secret": os.urandom(32),
        "expires_at": 4_000_000_000,
    }
    values.update(changes)
    return PairingInvite(**values)


def test_round_trip():
    original = invite()
    assert deeplink.parse(original.to_uri()) == original


def test_secret_is_not_in_repr():
    original = invite()
    assert original.pairing_secret.hex() not in repr(original)


def test_expired_link_is_refused():
    link = invite(expires_at=1000).to_uri()
    with pytest.raises(DeepLinkError) as caught:
        deeplink.parse(link)
    assert caught.value.code == "EXPIRED"
    assert deeplink.parse(link, check_expiry=False).expires_at == 1000


def test_other_version_is_refused():
    link = invite().to_uri().replace("v=1&", "v=2&")
    with pytest.raises(DeepLinkError) as caught:
        deeplink.parse(link)
    assert caught.value.code == "VERSION_UNSUPPORTED"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("pulse://pair?", "https://pair?"),
        ("&psk=", "&psk=AAAA&x="),
        ("&iid=home-1", "&iid=home 1"),
        ("&relay=wss", "&relay=http"),
        ("&exp=4000000000", "&exp=soon"),
    ],
)
def test_malformed_links_are_refused(old, new):
    link = invite().to_uri().replace(old, new)
    with pytest.raises(DeepLinkError):
        deeplink.parse(link)


def test_duplicated_field_is_refused():
    link = invite().to_uri() + "&iid=other"
    with pytest.raises(DeepLinkError, match="exactly one"):
        deeplink.parse(link)


@given(st.text(max_size=300))
def test_arbitrary_text_raises_only_deep_link_errors(text):
    with contextlib.suppress(DeepLinkError):
        deeplink.parse(text)


def test_unknown_extra_fields_are_ignored():
    original = invite()
    assert deeplink.parse(original.to_uri() + "&future=1") == original


def test_protocol_doc_example_is_what_the_writer_produces():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    example = invite(
        relay_url="wss://relay.example.org",
        instance_public_key=bytes(32),
        pairing_id=bytes(16),
        pairing_secret=bytes(32),
        expires_at=1893456000,
    ).to_uri()
    assert example in doc
