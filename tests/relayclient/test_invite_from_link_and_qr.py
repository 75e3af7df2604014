"""A pairing invitation is read from the link itself or from a QR code image of it."""

from __future__ import annotations

import os
import time

import pytest
import qrcode
from PIL import Image

from relayclient import ClientError
from relayclient.invite import load_invite
from relayproto.deeplink import PairingInvite


def invite(**changes) -> PairingInvite:
    """An invitation valid for five minutes, with random keys."""
    values = {
        "relay_url": "wss://relay.example.org",
        "instance_id": "home-1",
        "instance_public_key": os.urandom(32),
        "pairing_id": os.urandom(16),
        "pairing_secret": os.urandom(32),
        "expires_at": int(time.time()) + 300,
    }
    values.update(changes)
    return PairingInvite(**values)


def qr_png(text: str, path) -> str:
    """Write ``text`` as a QR code PNG the way the instance does (level M, quiet zone 4)."""
    image = qrcode.make(text, error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    image.save(path)
    return str(path)


def test_a_link_is_parsed():
    original = invite()
    assert load_invite(original.to_uri()) == original


def test_a_qr_png_decodes_to_the_same_invitation(tmp_path):
    original = invite()
    assert load_invite(qr_png(original.to_uri(), tmp_path / "pair.png")) == original


def test_an_expired_link_is_pairing_expired(tmp_path):
    old = invite(expires_at=int(time.time()) - 1).to_uri()
    for source in (old, qr_png(old, tmp_path / "old.png")):
        with pytest.raises(ClientError) as caught:
            load_invite(source)
        assert caught.value.code == "PAIRING_EXPIRED"


def test_a_damaged_link_is_pairing_link_invalid():
    link = invite().to_uri().replace("&iid=home-1", "")
    with pytest.raises(ClientError) as caught:
        load_invite(link)
    assert caught.value.code == "PAIRING_LINK_INVALID"
    assert "iid" in caught.value.message


def test_neither_a_link_nor_a_file_is_pairing_link_invalid(tmp_path):
    with pytest.raises(ClientError) as caught:
        load_invite(str(tmp_path / "missing.png"))
    assert caught.value.code == "PAIRING_LINK_INVALID"


def test_an_image_without_a_qr_code_is_qr_unreadable(tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(blank)
    with pytest.raises(ClientError) as caught:
        load_invite(str(blank))
    assert caught.value.code == "QR_UNREADABLE"


def test_a_file_that_is_not_an_image_is_qr_unreadable(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("hello")
    with pytest.raises(ClientError) as caught:
        load_invite(str(text))
    assert caught.value.code == "QR_UNREADABLE"
