"""Every way a handshake can be attacked or misused ends in HandshakeError and no session."""

from __future__ import annotations

import pytest

from relayproto.errors import HandshakeError, RecordError
from relayproto.handshake import (
    PROTOCOL_NAME,
    Initiator,
    Message1Payload,
    Message2Payload,
    make_prologue,
    public_key,
)
from relayproto.noise import HandshakeState, KeyPair
from tests.relayproto.crypto_support import (
    CHANNEL_ID,
    DEVICE_PSK,
    INSTANCE_ID,
    INSTANCE_PUBLIC,
    INSTANCE_STATIC,
    PHONE_PUBLIC,
    device_session,
    instance,
    key,
    phone,
)

# Curve25519 points of small order (RFC 7748 section 7 and libsodium's blocklist).
LOW_ORDER_POINTS = [
    bytes(32),
    (1).to_bytes(32, "little"),
    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    bytes.fromhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
    bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    bytes.fromhex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    bytes.fromhex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
]


def _message1(**kwargs) -> bytes:
    return phone(**kwargs).write_message1(Message1Payload.device())


def _fails_then_stays_failed(call, *args) -> None:
    with pytest.raises(HandshakeError):
        call(*args)
    with pytest.raises(HandshakeError):
        call(*args)


def test_wrong_psk_at_the_phone_fails_message2() -> None:
    caller = phone(psk=key("wrong psk"))
    responder = instance()
    responder.read_message1(caller.write_message1(Message1Payload.device()))
    message2 = responder.write_message2(DEVICE_PSK, Message2Payload.device())
    _fails_then_stays_failed(caller.read_message2, message2)
    with pytest.raises(HandshakeError):
        caller.secure_channel()


def test_wrong_psk_at_the_instance_fails_message2() -> None:
    caller = phone()
    responder = instance()
    responder.read_message1(caller.write_message1(Message1Payload.device()))
    message2 = responder.write_message2(key("wrong psk"), Message2Payload.device())
    with pytest.raises(HandshakeError):
        caller.read_message2(message2)


def test_phone_pinning_another_instance_key_cannot_be_read_by_the_real_instance() -> None:
    message1 = _message1(instance_public=public_key(key("some other instance")))
    _fails_then_stays_failed(instance().read_message1, message1)


def test_substituted_instance_cannot_read_message1() -> None:
    message1 = _message1()
    impostor = instance(static=key("impostor instance"))
    with pytest.raises(HandshakeError):
        impostor.read_message1(message1)


def test_impostor_phone_shows_its_own_key_not_the_device_key() -> None:
    # Knowing the psk is not enough: the static key in message 1 is authenticated by ss.
    hello = instance().read_message1(_message1(static=key("impostor phone")))
    assert hello.initiator_static != PHONE_PUBLIC


@pytest.mark.parametrize("position", [0, 31, 32, 50, 79, 80, 95, -1])
def test_tampered_message1_is_rejected(position: int) -> None:
    message1 = bytearray(_message1())
    message1[position] ^= 0x01
    _fails_then_stays_failed(instance().read_message1, bytes(message1))


@pytest.mark.parametrize("position", [0, 31, 32, 40, -1])
def test_tampered_message2_is_rejected(position: int) -> None:
    caller = phone()
    responder = instance()
    responder.read_message1(caller.write_message1(Message1Payload.device()))
    message2 = bytearray(responder.write_message2(DEVICE_PSK, Message2Payload.device()))
    message2[position] ^= 0x80
    _fails_then_stays_failed(caller.read_message2, bytes(message2))


@pytest.mark.parametrize("cut", [0, 1, 31, 32, 79, 80, 97])
def test_truncated_message1_is_rejected(cut: int) -> None:
    with pytest.raises(HandshakeError):
        instance().read_message1(_message1()[:cut])


def test_extended_message_is_rejected() -> None:
    with pytest.raises(HandshakeError):
        instance().read_message1(_message1() + b"\x00")


@pytest.mark.parametrize("point", LOW_ORDER_POINTS, ids=lambda p: p.hex()[:8])
def test_low_order_ephemeral_in_message1_is_rejected(point: bytes) -> None:
    message1 = point + _message1()[32:]
    with pytest.raises(HandshakeError):
        instance().read_message1(message1)


@pytest.mark.parametrize("point", LOW_ORDER_POINTS, ids=lambda p: p.hex()[:8])
def test_low_order_ephemeral_in_message2_is_rejected(point: bytes) -> None:
    caller = phone()
    responder = instance()
    responder.read_message1(caller.write_message1(Message1Payload.device()))
    message2 = responder.write_message2(DEVICE_PSK, Message2Payload.device())
    with pytest.raises(HandshakeError):
        caller.read_message2(point + message2[32:])


@pytest.mark.parametrize("point", LOW_ORDER_POINTS, ids=lambda p: p.hex()[:8])
def test_low_order_pinned_instance_key_is_refused(point: bytes) -> None:
    with pytest.raises(HandshakeError):
        phone(instance_public=point).write_message1(Message1Payload.device())


@pytest.mark.parametrize("point", LOW_ORDER_POINTS, ids=lambda p: p.hex()[:8])
def test_low_order_phone_static_key_in_message1_is_rejected(point: bytes) -> None:
    # A hand-built initiator whose encrypted static key is a low-order point: the instance's
    # ss DH must refuse it rather than derive keys from an all-zero secret.
    forger = HandshakeState(
        PROTOCOL_NAME,
        initiator=True,
        prologue=make_prologue(CHANNEL_ID, INSTANCE_ID),
        static_private=key("forger"),
        remote_static=INSTANCE_PUBLIC,
    )
    forged = KeyPair.__new__(KeyPair)
    forged.private, forged.public = KeyPair(key("forger")).private, point
    forger.s = forged
    message1 = forger.write_message(Message1Payload.device().encode())
    with pytest.raises(HandshakeError):
        instance().read_message1(message1)


@pytest.mark.parametrize(
    ("channel_id", "instance_id"),
    [(CHANNEL_ID + 1, INSTANCE_ID), (CHANNEL_ID, "home-2"), (0, INSTANCE_ID)],
    ids=["other-channel", "other-instance", "channel-zero"],
)
def test_prologue_mismatch_fails(channel_id: int, instance_id: str) -> None:
    message1 = _message1(channel_id=channel_id, instance_id=instance_id)
    with pytest.raises(HandshakeError):
        instance().read_message1(message1)


def test_replayed_message1_yields_a_different_session_the_original_phone_cannot_join() -> None:
    original = device_session()
    phone_channel = original.phone.secure_channel()
    replayed = instance()
    hello = replayed.read_message1(original.message1)
    assert hello.initiator_static == PHONE_PUBLIC  # IK's message 1 is replayable by design
    message2 = replayed.write_message2(DEVICE_PSK, Message2Payload.device())
    assert message2 != original.message2
    assert replayed.handshake_hash != original.instance.handshake_hash
    with pytest.raises(HandshakeError):
        original.phone.read_message2(message2)
    # A phone with the same keys but another ephemeral cannot take the replayed session over.
    other_phone = phone()
    other_phone.write_message1(Message1Payload.device())
    with pytest.raises(HandshakeError):
        other_phone.read_message2(message2)
    replay_channel = replayed.secure_channel()
    with pytest.raises(RecordError):
        replay_channel.open(phone_channel.seal(b"for the real instance"))
    with pytest.raises(RecordError):
        phone_channel.open(replay_channel.seal(b"from the replay"))


def test_steps_out_of_order_fail() -> None:
    with pytest.raises(HandshakeError):
        phone().read_message2(b"\x00" * 64)
    with pytest.raises(HandshakeError):
        instance().write_message2(DEVICE_PSK, Message2Payload.device())
    caller = phone()
    caller.write_message1(Message1Payload.device())
    with pytest.raises(HandshakeError):
        caller.write_message1(Message1Payload.device())
    session = device_session()
    session.phone.secure_channel()
    with pytest.raises(HandshakeError):
        session.phone.secure_channel()


def test_phone_rejects_an_answer_of_the_wrong_kind() -> None:
    caller = phone()
    raw = HandshakeState(
        PROTOCOL_NAME,
        initiator=False,
        prologue=make_prologue(CHANNEL_ID, INSTANCE_ID),
        static_private=INSTANCE_STATIC,
    )
    raw.read_message(caller.write_message1(Message1Payload.device()))
    raw.add_psk(DEVICE_PSK)
    message2 = raw.write_message(Message2Payload.pairing(key("psk")).encode())
    with pytest.raises(HandshakeError):
        caller.read_message2(message2)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"static_private": b"short"},
        {"instance_public": bytes(31)},
        {"psk": bytes(33)},
        {"psk": "a string, not bytes"},
    ],
)
def test_bad_key_material_is_a_handshake_error(kwargs: dict) -> None:
    args = {
        "static_private": key("s"),
        "instance_public": key("p"),
        "psk": DEVICE_PSK,
        "prologue": b"",
    }
    args.update(kwargs)
    with pytest.raises(HandshakeError):
        Initiator(**args)


def test_non_payload_argument_is_a_handshake_error() -> None:
    with pytest.raises(HandshakeError):
        phone().write_message1(b"raw bytes")  # type: ignore[arg-type]
    responder = instance()
    responder.read_message1(_message1())
    with pytest.raises(HandshakeError):
        responder.write_message2(DEVICE_PSK, None)  # type: ignore[arg-type]
    with pytest.raises(HandshakeError):
        instance().read_message1("not bytes")  # type: ignore[arg-type]
