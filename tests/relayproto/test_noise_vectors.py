"""Our Noise engine reproduces every cacophony 25519/ChaChaPoly/SHA256 vector byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relayproto.noise import HandshakeState, PatternSpec

VECTORS_FILE = Path(__file__).parent / "vectors" / "cacophony-25519-ChaChaPoly-SHA256.json"
VECTORS = json.loads(VECTORS_FILE.read_text())["vectors"]


def _hex(vector: dict, key: str) -> bytes | None:
    value = vector.get(key)
    return bytes.fromhex(value) if value is not None else None


def _party(vector: dict, side: str) -> HandshakeState:
    return HandshakeState(
        vector["protocol_name"],
        initiator=side == "init",
        prologue=_hex(vector, f"{side}_prologue") or b"",
        static_private=_hex(vector, f"{side}_static"),
        remote_static=_hex(vector, f"{side}_remote_static"),
        psks=[bytes.fromhex(p) for p in vector.get(f"{side}_psks", [])],
        ephemeral=_hex(vector, f"{side}_ephemeral"),
    )


def test_vectors_file_holds_all_59_vectors_and_we_support_every_pattern() -> None:
    assert len(VECTORS) == 59
    for vector in VECTORS:
        PatternSpec(vector["protocol_name"])


@pytest.mark.parametrize(
    "vector", VECTORS, ids=[f"{i}-{v['protocol_name']}" for i, v in enumerate(VECTORS)]
)
def test_vector_handshake_transport_and_hash_match(vector: dict) -> None:
    initiator, responder = _party(vector, "init"), _party(vector, "resp")
    handshake_len = len(initiator.pattern.messages)
    one_way = initiator.pattern.one_way
    transports = None
    for index, message in enumerate(vector["messages"]):
        payload = bytes.fromhex(message["payload"])
        expected = bytes.fromhex(message["ciphertext"])
        if index < handshake_len:
            writer, reader = (initiator, responder) if index % 2 == 0 else (responder, initiator)
            assert writer.write_message(payload) == expected
            assert reader.read_message(expected) == payload
            continue
        if transports is None:
            assert initiator.complete and responder.complete
            assert initiator.handshake_hash.hex() == vector["handshake_hash"]
            assert responder.handshake_hash.hex() == vector["handshake_hash"]
            transports = {"init": initiator.split(), "resp": responder.split()}
        # One-way patterns only ever send from initiator to responder.
        from_init = one_way or (index - handshake_len) % 2 == (handshake_len % 2)
        sender, receiver = ("init", "resp") if from_init else ("resp", "init")
        assert transports[sender][0].encrypt_with_ad(b"", payload) == expected
        assert transports[receiver][1].decrypt_with_ad(b"", expected) == payload
    assert transports is not None
