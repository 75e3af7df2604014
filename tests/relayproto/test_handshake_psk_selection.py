"""The instance reads message 1 without a psk, then picks the psk by device key or pairing id."""

from __future__ import annotations

import pytest

from relayproto.errors import HandshakeError
from relayproto.handshake import Message1Payload, Message2Payload, Responder, public_key
from tests.relayproto.crypto_support import (
    DEVICE_PSK,
    PAIRING_ID,
    PAIRING_SECRET,
    PHONE_PUBLIC,
    PHONE_STATIC,
    instance,
    key,
    phone,
)

OTHER_PHONE = key("other phone static")
DEVICES = {PHONE_PUBLIC: DEVICE_PSK, public_key(OTHER_PHONE): key("other device psk")}
PAIRINGS = {PAIRING_ID: PAIRING_SECRET}


def _answer(responder: Responder, message1: bytes) -> bytes | None:
    """What an instance does: look the caller up, answer with its psk, or stay silent."""
    hello = responder.read_message1(message1)
    if hello.payload.kind == "pairing":
        secret = PAIRINGS.get(hello.payload.pairing_id)
        if secret is None:
            return None
        return responder.write_message2(secret, Message2Payload.pairing(key("new device psk")))
    psk = DEVICES.get(hello.initiator_static)
    if psk is None:
        return None
    return responder.write_message2(psk, Message2Payload.device())


@pytest.mark.parametrize("static", [PHONE_STATIC, OTHER_PHONE], ids=["phone", "other-phone"])
def test_known_device_is_answered_with_its_own_psk(static: bytes) -> None:
    caller = phone(static=static, psk=DEVICES[public_key(static)])
    responder = instance()
    message2 = _answer(responder, caller.write_message1(Message1Payload.device()))
    assert message2 is not None
    assert caller.read_message2(message2) == Message2Payload.device()
    assert caller.sas == responder.sas
    phone_channel, instance_channel = caller.secure_channel(), responder.secure_channel()
    assert instance_channel.open(phone_channel.seal(b"ping")) == b"ping"
    assert phone_channel.open(instance_channel.seal(b"pong")) == b"pong"


def test_message1_reveals_static_key_and_payload_without_any_psk() -> None:
    responder = instance()
    hello = responder.read_message1(phone().write_message1(Message1Payload.device()))
    assert hello.initiator_static == PHONE_PUBLIC
    assert hello.payload == Message1Payload.device()
    assert not responder.complete


def test_unknown_device_gets_no_answer_and_nothing_is_required_of_the_instance() -> None:
    stranger = phone(static=key("stranger"), psk=key("stranger psk"))
    responder = instance()
    assert _answer(responder, stranger.write_message1(Message1Payload.device())) is None
    assert not responder.complete
    with pytest.raises(HandshakeError):
        responder.secure_channel()


def test_pairing_uses_the_pairing_secret_and_delivers_the_device_psk() -> None:
    caller = phone(psk=PAIRING_SECRET)
    responder = instance()
    message2 = _answer(responder, caller.write_message1(Message1Payload.pairing(PAIRING_ID)))
    assert message2 is not None
    answer = caller.read_message2(message2)
    assert answer == Message2Payload.pairing(key("new device psk"))
    assert caller.sas == responder.sas

    # The next channel uses the delivered psk, as a known device.
    DEVICES[PHONE_PUBLIC] = answer.device_psk
    try:
        again = phone(psk=answer.device_psk)
        reply = _answer(instance(), again.write_message1(Message1Payload.device()))
        assert again.read_message2(reply) == Message2Payload.device()
    finally:
        DEVICES[PHONE_PUBLIC] = DEVICE_PSK


def test_unknown_pairing_id_gets_no_answer() -> None:
    caller = phone(psk=PAIRING_SECRET)
    hello = caller.write_message1(Message1Payload.pairing(bytes(16)))
    assert _answer(instance(), hello) is None


def test_responder_picking_the_wrong_psk_fails_at_the_phone() -> None:
    caller = phone(psk=PAIRING_SECRET)
    responder = instance()
    responder.read_message1(caller.write_message1(Message1Payload.pairing(PAIRING_ID)))
    message2 = responder.write_message2(DEVICE_PSK, Message2Payload.pairing(key("x")))
    with pytest.raises(HandshakeError):
        caller.read_message2(message2)


def test_answer_kind_must_match_the_question() -> None:
    responder = instance()
    responder.read_message1(phone().write_message1(Message1Payload.device()))
    with pytest.raises(HandshakeError):
        responder.write_message2(DEVICE_PSK, Message2Payload.pairing(key("x")))
    with pytest.raises(HandshakeError):
        responder.write_message2(DEVICE_PSK, Message2Payload.device())  # aborted for good
