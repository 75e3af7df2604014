"""Establishing an end-to-end channel over an OuterChannel: the Noise handshake in asyncio."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from relayproto.connection import OuterChannel
from relayproto.handshake import (
    Initiator,
    Message1,
    Message1Payload,
    Message2Payload,
    Responder,
    make_prologue,
)
from relayproto.records import SecureChannel

HANDSHAKE_TIMEOUT = 20.0


@dataclass
class Established:
    """A finished handshake: the record keys and what the peer said."""

    secure: SecureChannel
    sas: str
    handshake_hash: bytes
    message1: Message1 | None = None
    message2: Message2Payload | None = None


async def initiate(
    outer: OuterChannel,
    *,
    instance_id: str,
    static_private: bytes,
    instance_public: bytes,
    psk: bytes,
    payload: Message1Payload,
    timeout: float = HANDSHAKE_TIMEOUT,
) -> Established:
    """Phone side: send message 1, read message 2; HandshakeError if the instance is not who
    the pinned key says, or the psk is wrong."""
    initiator = Initiator(
        static_private=static_private,
        instance_public=instance_public,
        psk=psk,
        prologue=make_prologue(outer.channel_id, instance_id),
    )
    await outer.send_data(initiator.write_message1(payload))
    reply = await asyncio.wait_for(outer.recv_data(), timeout)
    try:
        message2 = initiator.read_message2(bytes(reply))
    finally:
        await outer.consumed(len(reply))
    return Established(
        initiator.secure_channel(), initiator.sas, initiator.handshake_hash, message2=message2
    )


PskChooser = Callable[[Message1], Awaitable[tuple[bytes, Message2Payload] | None]]


async def respond(
    outer: OuterChannel,
    *,
    instance_id: str,
    static_private: bytes,
    choose: PskChooser,
    timeout: float = HANDSHAKE_TIMEOUT,
) -> Established | None:
    """Instance side: read message 1, let ``choose`` pick the psk (None: stay silent), answer."""
    responder = Responder(
        static_private=static_private, prologue=make_prologue(outer.channel_id, instance_id)
    )
    first = await asyncio.wait_for(outer.recv_data(), timeout)
    try:
        message1 = responder.read_message1(bytes(first))
    finally:
        await outer.consumed(len(first))
    decision = await choose(message1)
    if decision is None:
        return None
    psk, payload = decision
    await outer.send_data(responder.write_message2(psk, payload))
    return Established(
        responder.secure_channel(), responder.sas, responder.handshake_hash, message1=message1
    )
