"""Relay's end-to-end handshake: Noise_IKpsk2_25519_ChaChaPoly_SHA256 between phone and instance.

The phone (initiator) pins the instance's static key from the QR code or deep link. The
instance (responder) reads message 1 without any psk, learns the phone's static key and the
message-1 payload, then picks the psk (the device psk, or the pairing secret while pairing)
and answers with message 2 -- or does not answer at all. docs/protocol.md is the reference.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from relayproto import PROTOCOL_VERSION
from relayproto.errors import HandshakeError
from relayproto.noise import HandshakeState, generate_private_key, public_key_bytes
from relayproto.records import REKEY_INTERVAL, SecureChannel

PROTOCOL_NAME = "Noise_IKpsk2_25519_ChaChaPoly_SHA256"
PROLOGUE_LABEL = b"pulse-relay"
SAS_LABEL = b"pulse-relay sas v1"
KEY_LEN = 32
PSK_LEN = 32
PAIRING_ID_LEN = 16
PAYLOAD_VERSION = 1
MAX_PAYLOAD_LEN = 1024
MAX_CHANNEL_ID = 2**32 - 1

KIND_DEVICE = 1
KIND_PAIRING = 2
_KIND_NAMES: dict[int, Literal["device", "pairing"]] = {
    KIND_DEVICE: "device",
    KIND_PAIRING: "pairing",
}
_KIND_CODES = {name: code for code, name in _KIND_NAMES.items()}

_INSTANCE_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_U16 = struct.Struct(">H")

Extensions = tuple[tuple[int, bytes], ...]


def make_prologue(channel_id: int, instance_id: str) -> bytes:
    """Prologue binding the protocol version, the relay channel id and the instance id."""
    if isinstance(channel_id, bool) or not isinstance(channel_id, int):
        raise HandshakeError("channel id must be an int")
    if not 0 <= channel_id <= MAX_CHANNEL_ID:
        raise HandshakeError("channel id out of the u32 range")
    validate_instance_id(instance_id)
    encoded = instance_id.encode("ascii")
    return (
        PROLOGUE_LABEL
        + bytes((PROTOCOL_VERSION,))
        + channel_id.to_bytes(4, "big")
        + bytes((len(encoded),))
        + encoded
    )


def validate_instance_id(instance_id: str) -> None:
    """HandshakeError unless ``instance_id`` is 1..64 characters of [A-Za-z0-9_-]."""
    if not isinstance(instance_id, str) or _INSTANCE_ID_RE.fullmatch(instance_id) is None:
        raise HandshakeError("instance id must be 1..64 characters of [A-Za-z0-9_-]")


# --- payload codecs -------------------------------------------------------------------------


def _encode_extensions(extensions: Extensions) -> bytes:
    out = bytearray()
    previous = 0
    for ext_type, value in extensions:
        if not previous < ext_type <= 255:
            raise HandshakeError("extension types must be 1..255 and strictly increasing")
        if len(value) > 0xFFFF:
            raise HandshakeError("extension value too long")
        out += bytes((ext_type,)) + _U16.pack(len(value)) + value
        previous = ext_type
    return bytes(out)


def _decode_extensions(data: bytes, offset: int) -> Extensions:
    extensions = []
    previous = 0
    while offset < len(data):
        if offset + 3 > len(data):
            raise HandshakeError("truncated payload extension header")
        ext_type = data[offset]
        (length,) = _U16.unpack_from(data, offset + 1)
        end = offset + 3 + length
        if ext_type <= previous or end > len(data):
            raise HandshakeError("malformed payload extension")
        extensions.append((ext_type, bytes(data[offset + 3 : end])))
        previous, offset = ext_type, end
    return tuple(extensions)


def _decode_header(data: bytes) -> tuple[int, bytes]:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise HandshakeError("payload must be bytes")
    data = bytes(data)
    if len(data) > MAX_PAYLOAD_LEN:
        raise HandshakeError("payload too long")
    if len(data) < 2:
        raise HandshakeError("payload truncated")
    if data[0] != PAYLOAD_VERSION:
        raise HandshakeError(f"unsupported payload version {data[0]}")
    if data[1] not in _KIND_NAMES:
        raise HandshakeError(f"unknown payload kind {data[1]}")
    return data[1], data


def _body(data: bytes, size: int) -> tuple[bytes, int]:
    if len(data) < 2 + size:
        raise HandshakeError("payload truncated")
    return data[2 : 2 + size], 2 + size


def _encode_payload(kind: str, body: bytes, extensions: Extensions) -> bytes:
    try:
        encoded = (
            bytes((PAYLOAD_VERSION, _KIND_CODES[kind])) + body + _encode_extensions(extensions)
        )
    except (TypeError, ValueError, KeyError) as exc:
        raise HandshakeError(f"invalid payload field: {type(exc).__name__}") from None
    if len(encoded) > MAX_PAYLOAD_LEN:
        raise HandshakeError("payload too long")
    return encoded


@dataclass(frozen=True)
class Message1Payload:
    """What the phone says in message 1: a known device, or a pairing attempt with its id."""

    kind: Literal["device", "pairing"]
    pairing_id: bytes | None = None
    extensions: Extensions = ()

    @classmethod
    def device(cls) -> Message1Payload:
        """A paired device reconnecting; its static key identifies it."""
        return cls("device")

    @classmethod
    def pairing(cls, pairing_id: bytes) -> Message1Payload:
        """A pairing attempt for the pairing session ``pairing_id`` (16 bytes)."""
        return cls("pairing", pairing_id=bytes(pairing_id))

    def encode(self) -> bytes:
        """Binary form: version, kind, kind body, then extensions."""
        if self.kind == "pairing":
            if not isinstance(self.pairing_id, bytes) or len(self.pairing_id) != PAIRING_ID_LEN:
                raise HandshakeError("a pairing id is 16 bytes")
            body = self.pairing_id
        elif self.kind == "device" and self.pairing_id is None:
            body = b""
        else:
            raise HandshakeError("invalid message-1 payload")
        return _encode_payload(self.kind, body, self.extensions)

    @classmethod
    def decode(cls, data: bytes) -> Message1Payload:
        """Strict decoder; HandshakeError on anything malformed."""
        kind, data = _decode_header(data)
        if kind == KIND_PAIRING:
            pairing_id, offset = _body(data, PAIRING_ID_LEN)
            return cls("pairing", pairing_id, _decode_extensions(data, offset))
        return cls("device", None, _decode_extensions(data, 2))


@dataclass(frozen=True)
class Message2Payload:
    """What the instance answers: a device session, or a completed pairing with the device psk."""

    kind: Literal["device", "pairing"]
    device_psk: bytes | None = None
    extensions: Extensions = ()

    def __repr__(self) -> str:
        """Never print the device psk."""
        psk = "<32 bytes>" if self.device_psk is not None else None
        return f"Message2Payload(kind={self.kind!r}, device_psk={psk}, extensions=...)"

    @classmethod
    def device(cls) -> Message2Payload:
        """Answer to a known device."""
        return cls("device")

    @classmethod
    def pairing(cls, device_psk: bytes) -> Message2Payload:
        """Answer to a pairing attempt: the psk the device uses from now on (32 bytes)."""
        return cls("pairing", device_psk=bytes(device_psk))

    def encode(self) -> bytes:
        """Binary form: version, kind, kind body, then extensions."""
        if self.kind == "pairing":
            if not isinstance(self.device_psk, bytes) or len(self.device_psk) != PSK_LEN:
                raise HandshakeError("a device psk is 32 bytes")
            body = self.device_psk
        elif self.kind == "device" and self.device_psk is None:
            body = b""
        else:
            raise HandshakeError("invalid message-2 payload")
        return _encode_payload(self.kind, body, self.extensions)

    @classmethod
    def decode(cls, data: bytes) -> Message2Payload:
        """Strict decoder; HandshakeError on anything malformed."""
        kind, data = _decode_header(data)
        if kind == KIND_PAIRING:
            psk, offset = _body(data, PSK_LEN)
            return cls("pairing", psk, _decode_extensions(data, offset))
        return cls("device", None, _decode_extensions(data, 2))


@dataclass(frozen=True)
class Message1:
    """What the responder learns from message 1: who is calling and what they ask for."""

    initiator_static: bytes
    payload: Message1Payload


# --- handshake parties ----------------------------------------------------------------------


class _Party:
    """Shared state machine: any failure aborts the handshake for good."""

    @contextmanager
    def _attempt(self) -> Iterator[None]:
        try:
            yield
        except HandshakeError:
            self._fail()
            raise
        except Exception as exc:
            # Only typed protocol errors may leave the public API, whatever the input.
            self._fail()
            raise HandshakeError(f"invalid handshake input: {type(exc).__name__}") from exc

    def __init__(self, state: HandshakeState) -> None:
        self._state: HandshakeState | None = state
        self._step = 0
        self._failed = False
        self._hash: bytes | None = None

    def _expect(self, step: int) -> HandshakeState:
        if self._failed:
            raise HandshakeError("handshake aborted after an earlier failure")
        if self._state is None or self._step != step:
            raise HandshakeError("handshake step out of order")
        return self._state

    def _fail(self) -> None:
        self._failed = True
        self._state = None

    def _finish(self, state: HandshakeState) -> None:
        self._step = 2
        self._hash = state.handshake_hash

    @property
    def complete(self) -> bool:
        """Whether both handshake messages have been processed."""
        return self._hash is not None

    @property
    def handshake_hash(self) -> bytes:
        """The final handshake hash (channel binding, SAS input)."""
        if self._hash is None:
            raise HandshakeError("handshake not complete")
        return self._hash

    @property
    def sas(self) -> str:
        """The 6-digit short authentication string both screens show."""
        return short_auth_string(self.handshake_hash)

    def secure_channel(self, *, rekey_interval: int = REKEY_INTERVAL) -> SecureChannel:
        """The transport for this side, available once; the hash and SAS stay readable."""
        state = self._expect(2)
        send_key, recv_key = state.split_keys()
        channel = SecureChannel(send_key, recv_key, rekey_interval=rekey_interval)
        # Dropping the handshake state drops its keys: nothing can derive them a second time.
        self._state = None
        return channel


class Initiator(_Party):
    """The phone's side of the handshake."""

    def __init__(
        self,
        *,
        static_private: bytes,
        instance_public: bytes,
        psk: bytes,
        prologue: bytes,
        ephemeral: bytes | None = None,
    ) -> None:
        """Keys are raw 32-byte values; ``ephemeral`` fixes the ephemeral key (tests only)."""
        _check_key(static_private, "static private key")
        _check_key(instance_public, "instance public key")
        _check_prologue(prologue)
        _check_key(psk, "psk")
        super().__init__(
            HandshakeState(
                PROTOCOL_NAME,
                initiator=True,
                prologue=bytes(prologue),
                static_private=bytes(static_private),
                remote_static=bytes(instance_public),
                psks=[bytes(psk)],
                ephemeral=ephemeral,
            )
        )
        self._sent_kind: str | None = None

    def write_message1(self, payload: Message1Payload) -> bytes:
        """Message 1: our ephemeral, our encrypted static key, the encrypted payload."""
        state = self._expect(0)
        with self._attempt():
            if not isinstance(payload, Message1Payload):
                raise HandshakeError("message-1 payload must be a Message1Payload")
            message = state.write_message(payload.encode())
        self._sent_kind = payload.kind
        self._step = 1
        return message

    def read_message2(self, message: bytes) -> Message2Payload:
        """Read the instance's answer; any failure aborts the handshake."""
        state = self._expect(1)
        with self._attempt():
            payload = Message2Payload.decode(state.read_message(message))
            if payload.kind != self._sent_kind:
                raise HandshakeError("message-2 kind does not answer message 1")
        self._finish(state)
        return payload


class Responder(_Party):
    """The instance's side of the handshake."""

    def __init__(
        self, *, static_private: bytes, prologue: bytes, ephemeral: bytes | None = None
    ) -> None:
        """Our raw 32-byte static key; ``ephemeral`` fixes the ephemeral key (tests only)."""
        _check_key(static_private, "static private key")
        _check_prologue(prologue)
        super().__init__(
            HandshakeState(
                PROTOCOL_NAME,
                initiator=False,
                prologue=bytes(prologue),
                static_private=bytes(static_private),
                ephemeral=ephemeral,
            )
        )
        self._received_kind: str | None = None

    def read_message1(self, message: bytes) -> Message1:
        """Decrypt message 1 (no psk needed yet) and say who is calling with what."""
        state = self._expect(0)
        with self._attempt():
            payload = Message1Payload.decode(state.read_message(message))
        self._received_kind = payload.kind
        self._step = 1
        return Message1(initiator_static=bytes(state.rs), payload=payload)  # type: ignore[arg-type]

    def write_message2(self, psk: bytes, payload: Message2Payload) -> bytes:
        """Answer with the chosen psk; not calling this at all is how to refuse a caller."""
        state = self._expect(1)
        with self._attempt():
            _check_key(psk, "psk")
            if not isinstance(payload, Message2Payload) or payload.kind != self._received_kind:
                raise HandshakeError("message-2 payload must answer message 1's kind")
            state.add_psk(bytes(psk))
            message = state.write_message(payload.encode())
        self._finish(state)
        return message


def _check_prologue(prologue: bytes) -> None:
    if not isinstance(prologue, bytes | bytearray | memoryview):
        raise HandshakeError("the prologue must be bytes (see make_prologue)")


def _check_key(value: bytes, what: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != KEY_LEN:
        raise HandshakeError(f"{what} must be 32 bytes")


# --- SAS, keys, fingerprints ----------------------------------------------------------------


def short_auth_string(handshake_hash: bytes) -> str:
    """Six zero-padded digits from HMAC-SHA256(key=SAS_LABEL, msg=h), first 8 bytes mod 10^6."""
    if not isinstance(handshake_hash, bytes | bytearray) or len(handshake_hash) != 32:
        raise HandshakeError("a handshake hash is 32 bytes")
    digest = hmac.new(SAS_LABEL, bytes(handshake_hash), hashlib.sha256).digest()
    # 2^64 is so much larger than 10^6 that the modulo bias is below 10^-13.
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def generate_static_key() -> bytes:
    """A fresh raw X25519 private key (32 bytes)."""
    return generate_private_key()


def public_key(static_private: bytes) -> bytes:
    """The raw 32-byte public key of a raw private key."""
    _check_key(static_private, "static private key")
    return public_key_bytes(bytes(static_private))


def generate_psk() -> bytes:
    """A fresh 32-byte pre-shared key (device psk or pairing secret)."""
    return secrets.token_bytes(PSK_LEN)


def generate_pairing_id() -> bytes:
    """A fresh 16-byte pairing session id."""
    return secrets.token_bytes(PAIRING_ID_LEN)


def key_fingerprint(public: bytes) -> str:
    """First 10 bytes of SHA-256(public key) as five dash-separated groups of 4 hex digits."""
    _check_key(public, "public key")
    digest = hashlib.sha256(bytes(public)).hexdigest()[:20]
    return "-".join(digest[i : i + 4] for i in range(0, 20, 4))
