"""Worked examples of the handshake and records with fixed keys, for docs/protocol.md.

``python -m relayproto.examples_crypto`` prints them as Markdown; a test checks that every hex
string appears verbatim in the docs so the two cannot drift apart. Every key here is public:
never use them for anything but checking an implementation.
"""

from __future__ import annotations

import hashlib

from relayproto.handshake import (
    Initiator,
    Message1Payload,
    Message2Payload,
    Responder,
    key_fingerprint,
    make_prologue,
    public_key,
)
from relayproto.noise import rekey_key
from relayproto.records import pack_records

CHANNEL_ID = 7
INSTANCE_ID = "home-1"
PHONE_PLAINTEXTS = (b"hello, instance", b"second record")
INSTANCE_PLAINTEXT = b"hello, phone"


def fixed_bytes(label: str, size: int = 32) -> bytes:
    """SHA-256 of an example label, cut to ``size``: reproducible, obviously not secret."""
    return hashlib.sha256(f"relay example {label}".encode()).digest()[:size]


def _session(kind: str) -> dict[str, str]:
    keys = {
        "instance_static": fixed_bytes("instance static"),
        "phone_static": fixed_bytes("phone static"),
        "phone_ephemeral": fixed_bytes(f"{kind} phone ephemeral"),
        "instance_ephemeral": fixed_bytes(f"{kind} instance ephemeral"),
    }
    prologue = make_prologue(CHANNEL_ID, INSTANCE_ID)
    if kind == "pairing":
        psk = fixed_bytes("pairing secret")
        hello = Message1Payload.pairing(fixed_bytes("pairing id", 16))
        answer = Message2Payload.pairing(fixed_bytes("device psk"))
    else:
        psk = fixed_bytes("device psk")
        hello = Message1Payload.device()
        answer = Message2Payload.device()
    phone = Initiator(
        static_private=keys["phone_static"],
        instance_public=public_key(keys["instance_static"]),
        psk=psk,
        prologue=prologue,
        ephemeral=keys["phone_ephemeral"],
    )
    instance = Responder(
        static_private=keys["instance_static"],
        prologue=prologue,
        ephemeral=keys["instance_ephemeral"],
    )
    message1 = phone.write_message1(hello)
    instance.read_message1(message1)
    message2 = instance.write_message2(psk, answer)
    phone.read_message2(message2)
    out = {
        f"{kind}.psk": psk.hex(),
        f"{kind}.phone_ephemeral_private": keys["phone_ephemeral"].hex(),
        f"{kind}.instance_ephemeral_private": keys["instance_ephemeral"].hex(),
        f"{kind}.message1_payload": hello.encode().hex(),
        f"{kind}.message1": message1.hex(),
        f"{kind}.message2_payload": answer.encode().hex(),
        f"{kind}.message2": message2.hex(),
        f"{kind}.handshake_hash": phone.handshake_hash.hex(),
        f"{kind}.sas": phone.sas,
    }
    if kind == "device":
        out.update(_transport(phone, instance))
    return out


def _transport(phone: Initiator, instance: Responder) -> dict[str, str]:
    phone_keys = phone._state.split_keys()  # type: ignore[union-attr]
    phone_channel = phone.secure_channel()
    instance_channel = instance.secure_channel()
    records = [phone_channel.seal(text) for text in PHONE_PLAINTEXTS]
    reply = instance_channel.seal(INSTANCE_PLAINTEXT)
    for record, text in zip(records, PHONE_PLAINTEXTS, strict=True):
        assert instance_channel.open(record) == text
    assert phone_channel.open(reply) == INSTANCE_PLAINTEXT
    return {
        "device.key_phone_to_instance": phone_keys[0].hex(),
        "device.key_instance_to_phone": phone_keys[1].hex(),
        "device.key_phone_to_instance_after_rekey": rekey_key(phone_keys[0]).hex(),
        "device.record0_plaintext": PHONE_PLAINTEXTS[0].hex(),
        "device.record0": records[0].hex(),
        "device.record1_plaintext": PHONE_PLAINTEXTS[1].hex(),
        "device.data_payload": pack_records(records).hex(),
        "device.reply0_plaintext": INSTANCE_PLAINTEXT.hex(),
        "device.reply0": reply.hex(),
    }


def generate_examples() -> dict[str, str]:
    """Every example value by name, as hex (the SAS as its 6 digits)."""
    instance_public = public_key(fixed_bytes("instance static"))
    phone_public = public_key(fixed_bytes("phone static"))
    examples = {
        "prologue": make_prologue(CHANNEL_ID, INSTANCE_ID).hex(),
        "instance_static_private": fixed_bytes("instance static").hex(),
        "instance_static_public": instance_public.hex(),
        "instance_fingerprint": key_fingerprint(instance_public),
        "phone_static_private": fixed_bytes("phone static").hex(),
        "phone_static_public": phone_public.hex(),
        "phone_fingerprint": key_fingerprint(phone_public),
        "pairing_id": fixed_bytes("pairing id", 16).hex(),
    }
    examples.update(_session("device"))
    examples.update(_session("pairing"))
    return examples


def render_markdown() -> str:
    """The examples as a Markdown list, one value per line, ready to paste into the docs."""
    lines = [
        f"Channel id {CHANNEL_ID}, instance id `{INSTANCE_ID}`. Labels name the values below.",
        "",
        "```text",
    ]
    width = max(len(name) for name in generate_examples())
    lines += [f"{name:<{width}}  {value}" for name, value in generate_examples().items()]
    lines.append("```")
    return "\n".join(lines)


def main() -> None:
    """Print the examples."""
    print(render_markdown())


if __name__ == "__main__":
    main()
