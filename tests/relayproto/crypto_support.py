"""Shared helpers for the crypto tests: fixed keys, a full handshake, a channel pair."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from relayproto.handshake import (
    Initiator,
    Message1Payload,
    Message2Payload,
    Responder,
    make_prologue,
    public_key,
)
from relayproto.records import REKEY_INTERVAL, SecureChannel

INSTANCE_ID = "home-1"
CHANNEL_ID = 42


def key(label: str) -> bytes:
    """A deterministic 32-byte key for a test label."""
    return hashlib.sha256(label.encode()).digest()


INSTANCE_STATIC = key("instance static")
INSTANCE_PUBLIC = public_key(INSTANCE_STATIC)
PHONE_STATIC = key("phone static")
PHONE_PUBLIC = public_key(PHONE_STATIC)
DEVICE_PSK = key("device psk")
PAIRING_SECRET = key("pairing secret")
PAIRING_ID = key("pairing id")[:16]


@dataclass
class Session:
    """Both handshake parties and the messages they exchanged."""

    phone: Initiator
    instance: Responder
    message1: bytes = b""
    message2: bytes = b""
    extra: dict = field(default_factory=dict)


def phone(
    *,
    psk: bytes = DEVICE_PSK,
    static: bytes = PHONE_STATIC,
    instance_public: bytes = INSTANCE_PUBLIC,
    channel_id: int = CHANNEL_ID,
    instance_id: str = INSTANCE_ID,
    ephemeral: bytes | None = None,
) -> Initiator:
    """A phone-side initiator with the usual keys unless told otherwise."""
    return Initiator(
        static_private=static,
        instance_public=instance_public,
        psk=psk,
        prologue=make_prologue(channel_id, instance_id),
        ephemeral=ephemeral,
    )


def instance(
    *,
    static: bytes = INSTANCE_STATIC,
    channel_id: int = CHANNEL_ID,
    instance_id: str = INSTANCE_ID,
    ephemeral: bytes | None = None,
) -> Responder:
    """An instance-side responder with the usual keys unless told otherwise."""
    return Responder(
        static_private=static, prologue=make_prologue(channel_id, instance_id), ephemeral=ephemeral
    )


def device_session() -> Session:
    """A complete device handshake with the usual keys."""
    session = Session(phone(), instance())
    session.message1 = session.phone.write_message1(Message1Payload.device())
    session.instance.read_message1(session.message1)
    session.message2 = session.instance.write_message2(DEVICE_PSK, Message2Payload.device())
    session.phone.read_message2(session.message2)
    return session


def channel_pair(rekey_interval: int = REKEY_INTERVAL) -> tuple[SecureChannel, SecureChannel]:
    """(phone channel, instance channel) from a real handshake."""
    session = device_session()
    return (
        session.phone.secure_channel(rekey_interval=rekey_interval),
        session.instance.secure_channel(rekey_interval=rekey_interval),
    )
