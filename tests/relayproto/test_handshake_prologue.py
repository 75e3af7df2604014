"""The prologue binds label, protocol version, channel id and a validated instance id."""

from __future__ import annotations

import pytest

from relayproto import PROTOCOL_VERSION
from relayproto.errors import HandshakeError
from relayproto.handshake import make_prologue


def test_prologue_layout() -> None:
    assert PROTOCOL_VERSION == 1
    assert make_prologue(0x01020304, "home-1") == (
        b"pulse-relay" + b"\x01" + b"\x01\x02\x03\x04" + b"\x06" + b"home-1"
    )


def test_prologue_extremes() -> None:
    assert make_prologue(0, "a").endswith(b"\x00\x00\x00\x00\x01a")
    longest = "A_-9" * 16
    assert make_prologue(2**32 - 1, longest).endswith(b"\xff\xff\xff\xff\x40" + longest.encode())


@pytest.mark.parametrize("instance_id", ["", "a" * 65, "home 1", "héllo", "a/b", "a.b", "a\n"])
def test_invalid_instance_ids_are_refused(instance_id: str) -> None:
    with pytest.raises(HandshakeError):
        make_prologue(1, instance_id)


@pytest.mark.parametrize("channel_id", [-1, 2**32, True, 1.0, "1"])
def test_invalid_channel_ids_are_refused(channel_id: object) -> None:
    with pytest.raises(HandshakeError):
        make_prologue(channel_id, "home")  # type: ignore[arg-type]


def test_instance_id_must_be_a_string() -> None:
    with pytest.raises(HandshakeError):
        make_prologue(1, b"home")  # type: ignore[arg-type]
