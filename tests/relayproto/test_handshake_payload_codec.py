"""Message-1 and message-2 payloads have one strict, versioned binary encoding."""

from __future__ import annotations

import pytest

from relayproto.errors import HandshakeError
from relayproto.handshake import MAX_PAYLOAD_LEN, Message1Payload, Message2Payload

PAIRING_ID = bytes(range(16))
PSK = bytes(range(32))


def test_message1_layouts() -> None:
    assert Message1Payload.device().encode() == b"\x01\x01"
    assert Message1Payload.pairing(PAIRING_ID).encode() == b"\x01\x02" + PAIRING_ID


def test_message2_layouts() -> None:
    assert Message2Payload.device().encode() == b"\x01\x01"
    assert Message2Payload.pairing(PSK).encode() == b"\x01\x02" + PSK


@pytest.mark.parametrize(
    "payload",
    [
        Message1Payload.device(),
        Message1Payload.pairing(PAIRING_ID),
        Message1Payload("device", extensions=((1, b""), (7, b"future"), (255, b"x" * 300))),
        Message1Payload("pairing", PAIRING_ID, ((2, b"ext"),)),
    ],
)
def test_message1_round_trips_including_unknown_extensions(payload: Message1Payload) -> None:
    assert Message1Payload.decode(payload.encode()) == payload


@pytest.mark.parametrize(
    "payload",
    [
        Message2Payload.device(),
        Message2Payload.pairing(PSK),
        Message2Payload("device", None, ((9, b"z"),)),
    ],
)
def test_message2_round_trips(payload: Message2Payload) -> None:
    assert Message2Payload.decode(payload.encode()) == payload


def test_extension_layout_is_type_u8_length_u16_value() -> None:
    encoded = Message1Payload("device", extensions=((5, b"abc"),)).encode()
    assert encoded == b"\x01\x01" + b"\x05\x00\x03abc"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x01",
        b"\x02\x01",  # unknown payload version
        b"\x00\x01",
        b"\x01\x00",  # unknown kind
        b"\x01\x03",
        b"\x01\x02" + bytes(15),  # pairing id too short
        b"\x01\x01\x05",  # truncated extension header
        b"\x01\x01\x05\x00",
        b"\x01\x01\x05\x00\x04abc",  # extension runs past the end
        b"\x01\x01\x00\x00\x00",  # extension type 0 is reserved
        b"\x01\x01\x05\x00\x00\x05\x00\x00",  # duplicate extension
        b"\x01\x01\x06\x00\x00\x05\x00\x00",  # extensions out of order
        b"\x01\x01" + b"\x05\x04\x00" + bytes(1024),  # longer than MAX_PAYLOAD_LEN
    ],
)
def test_malformed_message1_payloads_are_refused(data: bytes) -> None:
    with pytest.raises(HandshakeError):
        Message1Payload.decode(data)


@pytest.mark.parametrize("data", [b"\x01\x02" + bytes(31), b"\x01\x04", b"\x01"])
def test_malformed_message2_payloads_are_refused(data: bytes) -> None:
    with pytest.raises(HandshakeError):
        Message2Payload.decode(data)


@pytest.mark.parametrize(
    "payload",
    [
        Message1Payload("pairing"),
        Message1Payload("pairing", b"short"),
        Message1Payload("device", PAIRING_ID),
        Message1Payload("other"),  # type: ignore[arg-type]
        Message1Payload("device", extensions=((0, b""),)),
        Message1Payload("device", extensions=((3, b""), (3, b""))),
        Message1Payload("device", extensions=((256, b""),)),
        Message1Payload("device", extensions=(("x", b""),)),  # type: ignore[arg-type]
        Message1Payload("device", extensions=((1, bytes(MAX_PAYLOAD_LEN)),)),
    ],
)
def test_invalid_message1_payloads_cannot_be_encoded(payload: Message1Payload) -> None:
    with pytest.raises(HandshakeError):
        payload.encode()


def test_message2_repr_never_shows_the_device_psk() -> None:
    assert PSK.hex() not in repr(Message2Payload.pairing(PSK))
    assert repr(PSK) not in repr(Message2Payload.pairing(PSK))
