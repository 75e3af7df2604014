"""Our Noise engine and SecureChannel interoperate with the independent `noiseprotocol` package."""

from __future__ import annotations

import pytest
from noise.connection import Keypair, NoiseConnection

from relayproto.handshake import PROTOCOL_NAME, Message1Payload, Message2Payload, make_prologue
from relayproto.noise import HandshakeState
from relayproto.records import SecureChannel
from tests.relayproto.crypto_support import (
    CHANNEL_ID,
    DEVICE_PSK,
    INSTANCE_ID,
    INSTANCE_PUBLIC,
    INSTANCE_STATIC,
    PHONE_PUBLIC,
    PHONE_STATIC,
    instance,
    key,
    phone,
)

PROLOGUE = b"cross-check prologue"
# (pattern, initiator needs a pinned responder key, responder needs a pinned initiator key)
PATTERNS = [
    ("IKpsk2", True, False),
    ("IK", True, False),
    ("XX", False, False),
    ("NN", False, False),
    ("KK", True, True),
    ("XXpsk3", False, False),
    ("NNpsk0", False, False),
]


def _theirs(pattern: str, initiator: bool, init_pin: bool, resp_pin: bool) -> NoiseConnection:
    name = f"Noise_{pattern}_25519_ChaChaPoly_SHA256"
    conn = NoiseConnection.from_name(name.encode())
    if initiator:
        conn.set_as_initiator()
    else:
        conn.set_as_responder()
    conn.set_prologue(PROLOGUE)
    conn.set_keypair_from_private_bytes(
        Keypair.STATIC, PHONE_STATIC if initiator else INSTANCE_STATIC
    )
    if initiator and init_pin:
        conn.set_keypair_from_public_bytes(Keypair.REMOTE_STATIC, INSTANCE_PUBLIC)
    if not initiator and resp_pin:
        conn.set_keypair_from_public_bytes(Keypair.REMOTE_STATIC, PHONE_PUBLIC)
    if "psk" in pattern:
        conn.set_psks(psk=DEVICE_PSK)
    conn.start_handshake()
    return conn


def _ours(pattern: str, initiator: bool, init_pin: bool, resp_pin: bool) -> HandshakeState:
    remote = None
    if initiator and init_pin:
        remote = INSTANCE_PUBLIC
    if not initiator and resp_pin:
        remote = PHONE_PUBLIC
    return HandshakeState(
        f"Noise_{pattern}_25519_ChaChaPoly_SHA256",
        initiator=initiator,
        prologue=PROLOGUE,
        static_private=PHONE_STATIC if initiator else INSTANCE_STATIC,
        remote_static=remote,
        psks=[DEVICE_PSK] if "psk" in pattern else [],
    )


@pytest.mark.parametrize("ours_is_initiator", [True, False], ids=["ours-init", "theirs-init"])
@pytest.mark.parametrize(
    ("pattern", "init_pin", "resp_pin"), PATTERNS, ids=[p[0] for p in PATTERNS]
)
def test_handshake_and_transport_interoperate(
    pattern: str, init_pin: bool, resp_pin: bool, ours_is_initiator: bool
) -> None:
    ours = _ours(pattern, ours_is_initiator, init_pin, resp_pin)
    theirs = _theirs(pattern, not ours_is_initiator, init_pin, resp_pin)
    ours_turn = ours_is_initiator
    step = 0
    while not ours.complete:
        payload = f"handshake payload {step}".encode()
        if ours_turn:
            assert theirs.read_message(ours.write_message(payload)) == payload
        else:
            assert ours.read_message(bytes(theirs.write_message(payload))) == payload
        ours_turn, step = not ours_turn, step + 1
    assert theirs.handshake_finished
    assert ours.handshake_hash == theirs.get_handshake_hash()

    send, recv = ours.split()
    for i in range(3):
        outbound = f"ours to theirs {i}".encode()
        assert theirs.decrypt(send.encrypt_with_ad(b"", outbound)) == outbound
        inbound = f"theirs to ours {i}".encode()
        assert recv.decrypt_with_ad(b"", theirs.encrypt(inbound)) == inbound


@pytest.mark.parametrize("ours_is_initiator", [True, False], ids=["ours-init", "theirs-init"])
def test_secure_channel_records_are_noise_transport_messages_with_rekey(
    ours_is_initiator: bool,
) -> None:
    interval = 3
    ours = _ours("IKpsk2", ours_is_initiator, True, False)
    theirs = _theirs("IKpsk2", not ours_is_initiator, True, False)
    assert PROTOCOL_NAME.startswith("Noise_IKpsk2")
    if ours_is_initiator:
        theirs.read_message(ours.write_message(b""))
        ours.read_message(bytes(theirs.write_message(b"")))
    else:
        ours.read_message(bytes(theirs.write_message(b"")))
        theirs.read_message(ours.write_message(b""))
    send_key, recv_key = ours.split_keys()
    channel = SecureChannel(send_key, recv_key, rekey_interval=interval)
    for n in range(10):
        # The peer applies Noise Rekey() by hand before every interval-th record.
        if n and n % interval == 0:
            theirs.rekey_inbound_cipher()
            theirs.rekey_outbound_cipher()
        text = key(f"record {n}")[: 1 + n]
        assert theirs.decrypt(channel.seal(text)) == text
        assert channel.open(theirs.encrypt(text)) == text


def _theirs_product(initiator: bool) -> NoiseConnection:
    conn = NoiseConnection.from_name(PROTOCOL_NAME.encode())
    if initiator:
        conn.set_as_initiator()
        conn.set_keypair_from_private_bytes(Keypair.STATIC, PHONE_STATIC)
        conn.set_keypair_from_public_bytes(Keypair.REMOTE_STATIC, INSTANCE_PUBLIC)
    else:
        conn.set_as_responder()
        conn.set_keypair_from_private_bytes(Keypair.STATIC, INSTANCE_STATIC)
    conn.set_prologue(make_prologue(CHANNEL_ID, INSTANCE_ID))
    conn.set_psks(psk=DEVICE_PSK)
    conn.start_handshake()
    return conn


def test_product_initiator_completes_with_their_responder() -> None:
    ours = phone()
    theirs = _theirs_product(initiator=False)
    payload = bytes(theirs.read_message(ours.write_message1(Message1Payload.device())))
    assert Message1Payload.decode(payload) == Message1Payload.device()
    answer = ours.read_message2(bytes(theirs.write_message(Message2Payload.device().encode())))
    assert answer == Message2Payload.device()
    assert ours.handshake_hash == theirs.get_handshake_hash()
    channel = ours.secure_channel()
    assert theirs.decrypt(channel.seal(b"to them")) == b"to them"
    assert channel.open(theirs.encrypt(b"to us")) == b"to us"


def test_their_initiator_completes_with_product_responder() -> None:
    ours = instance()
    theirs = _theirs_product(initiator=True)
    hello = ours.read_message1(bytes(theirs.write_message(Message1Payload.device().encode())))
    assert hello.initiator_static == PHONE_PUBLIC
    assert hello.payload == Message1Payload.device()
    message2 = ours.write_message2(DEVICE_PSK, Message2Payload.device())
    assert Message2Payload.decode(bytes(theirs.read_message(message2))) == Message2Payload.device()
    assert ours.handshake_hash == theirs.get_handshake_hash()
    channel = ours.secure_channel()
    assert theirs.decrypt(channel.seal(b"to them")) == b"to them"
    assert channel.open(theirs.encrypt(b"to us")) == b"to us"
