"""A table-driven Noise handshake engine for 25519 / ChaChaPoly / SHA256 on `cryptography`.

Follows the Noise Protocol Framework, revision 34: CipherState, SymmetricState and
HandshakeState as the specification names them (section 5), every pattern of its sections
7.4 to 7.6 (one-way, fundamental and deferred), and psk modifiers (section 9). Failures raise
HandshakeError (RecordError for transport CipherStates); a failed read leaves the state
exactly as it was before the call.
"""

from __future__ import annotations

import hmac
import re
import struct
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from relayproto.errors import HandshakeError, ProtocolError, RecordError

DHLEN = 32
HASHLEN = 32
KEYLEN = 32
TAGLEN = 16
PSKLEN = 32
MAX_MESSAGE_LEN = 65535
MAX_NONCE = 2**64 - 1
SUFFIX = "_25519_ChaChaPoly_SHA256"

_NONCE = struct.Struct("<4xQ")
_ZEROS32 = bytes(32)
_MAX_NONCE_BYTES = _NONCE.pack(MAX_NONCE)

# Pattern tables: (initiator pre-message, responder pre-message, message patterns).
# Messages alternate initiator -> responder, responder -> initiator, starting with the initiator.
_PATTERNS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, ...], ...]]] = {
    # One-way (section 7.4).
    "N": ((), ("s",), (("e", "es"),)),
    "K": (("s",), ("s",), (("e", "es", "ss"),)),
    "X": ((), ("s",), (("e", "es", "s", "ss"),)),
    # Interactive fundamental (section 7.5).
    "NN": ((), (), (("e",), ("e", "ee"))),
    "NK": ((), ("s",), (("e", "es"), ("e", "ee"))),
    "NX": ((), (), (("e",), ("e", "ee", "s", "es"))),
    "KN": (("s",), (), (("e",), ("e", "ee", "se"))),
    "KK": (("s",), ("s",), (("e", "es", "ss"), ("e", "ee", "se"))),
    "KX": (("s",), (), (("e",), ("e", "ee", "se", "s", "es"))),
    "XN": ((), (), (("e",), ("e", "ee"), ("s", "se"))),
    "XK": ((), ("s",), (("e", "es"), ("e", "ee"), ("s", "se"))),
    "XX": ((), (), (("e",), ("e", "ee", "s", "es"), ("s", "se"))),
    "IN": ((), (), (("e", "s"), ("e", "ee", "se"))),
    "IK": ((), ("s",), (("e", "es", "s", "ss"), ("e", "ee", "se"))),
    "IX": ((), (), (("e", "s"), ("e", "ee", "se", "s", "es"))),
    # Deferred (section 7.6).
    "NK1": ((), ("s",), (("e",), ("e", "ee", "es"))),
    "NX1": ((), (), (("e",), ("e", "ee", "s"), ("es",))),
    "X1N": ((), (), (("e",), ("e", "ee"), ("s",), ("se",))),
    "X1K": ((), ("s",), (("e", "es"), ("e", "ee"), ("s",), ("se",))),
    "XK1": ((), ("s",), (("e",), ("e", "ee", "es"), ("s", "se"))),
    "X1K1": ((), ("s",), (("e",), ("e", "ee", "es"), ("s",), ("se",))),
    "X1X": ((), (), (("e",), ("e", "ee", "s", "es"), ("s",), ("se",))),
    "XX1": ((), (), (("e",), ("e", "ee", "s"), ("es", "s", "se"))),
    "X1X1": ((), (), (("e",), ("e", "ee", "s"), ("es", "s"), ("se",))),
    "K1N": (("s",), (), (("e",), ("e", "ee"), ("se",))),
    "K1K": (("s",), ("s",), (("e", "es"), ("e", "ee"), ("se",))),
    "KK1": (("s",), ("s",), (("e",), ("e", "ee", "se", "es"))),
    "K1K1": (("s",), ("s",), (("e",), ("e", "ee", "es"), ("se",))),
    "K1X": (("s",), (), (("e",), ("e", "ee", "s", "es"), ("se",))),
    "KX1": (("s",), (), (("e",), ("e", "ee", "se", "s"), ("es",))),
    "K1X1": (("s",), (), (("e",), ("e", "ee", "s"), ("se", "es"))),
    "I1N": ((), (), (("e", "s"), ("e", "ee"), ("se",))),
    "I1K": ((), ("s",), (("e", "es", "s"), ("e", "ee"), ("se",))),
    "IK1": ((), ("s",), (("e", "s"), ("e", "ee", "se", "es"))),
    "I1K1": ((), ("s",), (("e", "s"), ("e", "ee", "es"), ("se",))),
    "I1X": ((), (), (("e", "s"), ("e", "ee", "s", "es"), ("se",))),
    "IX1": ((), (), (("e", "s"), ("e", "ee", "se", "s"), ("es",))),
    "I1X1": ((), (), (("e", "s"), ("e", "ee", "s"), ("se", "es"))),
}
_ONE_WAY = frozenset({"N", "K", "X"})
_PATTERN_RE = re.compile(r"^([NKXI]1?[NKX]?1?)((?:psk[0-9])(?:\+psk[0-9])*)?$")


class PatternSpec:
    """A parsed handshake pattern with its psk modifiers applied."""

    __slots__ = ("initiator_pre", "messages", "name", "one_way", "psk_count", "responder_pre")

    def __init__(self, protocol_name: str) -> None:
        """Parse ``Noise_<pattern>_25519_ChaChaPoly_SHA256``; HandshakeError if unsupported."""
        if not isinstance(protocol_name, str) or not protocol_name.isascii():
            raise HandshakeError("a protocol name is an ASCII string")
        if not protocol_name.startswith("Noise_") or not protocol_name.endswith(SUFFIX):
            raise HandshakeError(f"unsupported protocol {protocol_name!r}")
        self.name = protocol_name
        pattern = protocol_name[len("Noise_") : -len(SUFFIX)]
        match = _PATTERN_RE.match(pattern)
        if match is None or match.group(1) not in _PATTERNS:
            raise HandshakeError(f"unsupported pattern {pattern!r}")
        base = match.group(1)
        init_pre, resp_pre, messages = _PATTERNS[base]
        msgs = [list(m) for m in messages]
        modifiers = match.group(2).split("+") if match.group(2) else []
        for modifier in modifiers:
            index = int(modifier[3:])
            if index > len(msgs):
                raise HandshakeError(f"{modifier} beyond the last message")
            if index == 0:
                msgs[0].insert(0, "psk")
            else:
                msgs[index - 1].append("psk")
        self.initiator_pre = init_pre
        self.responder_pre = resp_pre
        self.messages = tuple(tuple(m) for m in msgs)
        self.psk_count = len(modifiers)
        self.one_way = base in _ONE_WAY


def hkdf(chaining_key: bytes, input_key_material: bytes, outputs: int) -> tuple[bytes, ...]:
    """Noise HKDF (section 4.3): HMAC-SHA256 extract then 2 or 3 expand blocks."""
    temp_key = _hmac(chaining_key, input_key_material)
    out1 = _hmac(temp_key, b"\x01")
    out2 = _hmac(temp_key, out1 + b"\x02")
    if outputs == 2:
        return out1, out2
    return out1, out2, _hmac(temp_key, out2 + b"\x03")


def _hmac(key: bytes, data: bytes) -> bytes:
    mac = crypto_hmac.HMAC(key, hashes.SHA256())
    mac.update(data)
    return mac.finalize()


def sha256(data: bytes) -> bytes:
    """SHA-256 of ``data`` (the Noise HASH function)."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(data)
    return digest.finalize()


def rekey_key(key: bytes) -> bytes:
    """REKEY(k) for ChaChaPoly (section 4.2): encrypt 32 zeros at nonce 2^64-1, keep 32 bytes."""
    return ChaCha20Poly1305(key).encrypt(_MAX_NONCE_BYTES, _ZEROS32, b"")[:KEYLEN]


def public_key_bytes(private_key: bytes) -> bytes:
    """Raw 32-byte X25519 public key for a raw 32-byte private key."""
    return _private_key(private_key).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def generate_private_key() -> bytes:
    """A fresh raw 32-byte X25519 private key."""
    return X25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )


def _private_key(raw: bytes) -> X25519PrivateKey:
    if not isinstance(raw, bytes | bytearray) or len(raw) != DHLEN:
        raise HandshakeError("an X25519 private key is 32 bytes")
    return X25519PrivateKey.from_private_bytes(bytes(raw))


def _public_key(raw: bytes) -> X25519PublicKey:
    if not isinstance(raw, bytes | bytearray | memoryview) or len(raw) != DHLEN:
        raise HandshakeError("an X25519 public key is 32 bytes")
    return X25519PublicKey.from_public_bytes(bytes(raw))


def dh(private_key: X25519PrivateKey, public_key: bytes) -> bytes:
    """X25519; HandshakeError for a low-order public key (all-zero shared secret)."""
    try:
        shared = private_key.exchange(_public_key(public_key))
    except ValueError:
        # cryptography refuses an all-zero result, which only low-order points produce.
        raise HandshakeError("low-order public key") from None
    if hmac.compare_digest(shared, _ZEROS32):
        raise HandshakeError("low-order public key")
    return shared


class KeyPair:
    """An X25519 key pair kept as a `cryptography` object plus its raw public bytes."""

    __slots__ = ("private", "public")

    def __init__(self, private_key: bytes) -> None:
        """Load a raw 32-byte private key."""
        self.private = _private_key(private_key)
        self.public = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @classmethod
    def generate(cls) -> KeyPair:
        """A fresh random key pair."""
        return cls(generate_private_key())


class CipherState:
    """Noise CipherState: a key, a nonce counter and ChaChaPoly with empty-key passthrough."""

    __slots__ = ("_aead", "_error", "key", "nonce")

    def __init__(
        self, key: bytes | None = None, *, error: type[ProtocolError] = HandshakeError
    ) -> None:
        """Start with ``key`` (or none) and nonce 0; failures raise ``error``."""
        self._error = error
        self.key: bytes | None = None
        self._aead: ChaCha20Poly1305 | None = None
        self.nonce = 0
        self.initialize_key(key)

    def initialize_key(self, key: bytes | None) -> None:
        """Set the key (None for no key) and reset the nonce to 0."""
        self.key = key
        self._aead = ChaCha20Poly1305(key) if key is not None else None
        self.nonce = 0

    def has_key(self) -> bool:
        """Whether a key is set."""
        return self.key is not None

    def set_nonce(self, nonce: int) -> None:
        """Set the nonce counter (for out-of-band counters; rarely needed)."""
        if not 0 <= nonce <= MAX_NONCE:
            raise self._error("nonce out of range")
        self.nonce = nonce

    def encrypt_with_ad(self, ad: bytes, plaintext: bytes) -> bytes:
        """Encrypt and advance the nonce; plaintext passes through when there is no key."""
        if self._aead is None:
            return bytes(plaintext)
        if self.nonce >= MAX_NONCE:
            raise self._error("nonce space exhausted")
        ciphertext = self._aead.encrypt(_NONCE.pack(self.nonce), plaintext, ad)
        self.nonce += 1
        return ciphertext

    def decrypt_with_ad(self, ad: bytes, ciphertext: bytes) -> bytes:
        """Decrypt and advance the nonce only on success."""
        if self._aead is None:
            return bytes(ciphertext)
        if self.nonce >= MAX_NONCE:
            raise self._error("nonce space exhausted")
        if len(ciphertext) < TAGLEN:
            raise self._error("ciphertext shorter than its tag")
        try:
            plaintext = self._aead.decrypt(_NONCE.pack(self.nonce), ciphertext, ad)
        except InvalidTag:
            raise self._error("decryption failed") from None
        self.nonce += 1
        return plaintext

    def rekey(self) -> None:
        """Rekey() of section 5.1 with REKEY of section 4.2; the nonce is not reset."""
        if self.key is None:
            raise self._error("rekey without a key")
        self.key = rekey_key(self.key)
        self._aead = ChaCha20Poly1305(self.key)


class SymmetricState:
    """Noise SymmetricState: chaining key, handshake hash and the handshake CipherState."""

    __slots__ = ("cipher", "ck", "h")

    def __init__(self, protocol_name: bytes) -> None:
        """InitializeSymmetric(protocol_name)."""
        if len(protocol_name) <= HASHLEN:
            self.h = protocol_name.ljust(HASHLEN, b"\x00")
        else:
            self.h = sha256(protocol_name)
        self.ck = self.h
        self.cipher = CipherState()

    def mix_key(self, input_key_material: bytes) -> None:
        """MixKey: new chaining key and cipher key from the input key material."""
        self.ck, temp_k = hkdf(self.ck, input_key_material, 2)
        self.cipher.initialize_key(temp_k)

    def mix_hash(self, data: bytes) -> None:
        """MixHash: h = HASH(h || data)."""
        self.h = sha256(self.h + data)

    def mix_key_and_hash(self, input_key_material: bytes) -> None:
        """MixKeyAndHash, used for psk tokens."""
        self.ck, temp_h, temp_k = hkdf(self.ck, input_key_material, 3)
        self.mix_hash(temp_h)
        self.cipher.initialize_key(temp_k)

    def encrypt_and_hash(self, plaintext: bytes) -> bytes:
        """EncryptAndHash with h as associated data."""
        ciphertext = self.cipher.encrypt_with_ad(self.h, plaintext)
        self.mix_hash(ciphertext)
        return ciphertext

    def decrypt_and_hash(self, ciphertext: bytes) -> bytes:
        """DecryptAndHash with h as associated data."""
        plaintext = self.cipher.decrypt_with_ad(self.h, ciphertext)
        self.mix_hash(ciphertext)
        return plaintext

    def split_keys(self) -> tuple[bytes, bytes]:
        """Split() as raw keys: (initiator-to-responder, responder-to-initiator)."""
        k1, k2 = hkdf(self.ck, b"", 2)
        return k1, k2

    def snapshot(self) -> tuple[bytes, bytes, bytes | None, int]:
        """Everything a message can change, so a failed read can be undone."""
        return self.ck, self.h, self.cipher.key, self.cipher.nonce

    def restore(self, saved: tuple[bytes, bytes, bytes | None, int]) -> None:
        """Put back a snapshot."""
        self.ck, self.h, key, nonce = saved
        self.cipher.initialize_key(key)
        self.cipher.nonce = nonce


class HandshakeState:
    """Noise HandshakeState for any supported pattern, driven by the pattern tables."""

    def __init__(
        self,
        protocol_name: str,
        *,
        initiator: bool,
        prologue: bytes = b"",
        static_private: bytes | None = None,
        remote_static: bytes | None = None,
        psks: Sequence[bytes] = (),
        ephemeral: bytes | None = None,
    ) -> None:
        """Initialize(); ``ephemeral`` fixes the ephemeral private key and is for tests only."""
        self.pattern = PatternSpec(protocol_name)
        if not isinstance(prologue, bytes | bytearray | memoryview):
            raise HandshakeError("a prologue is bytes")
        self.initiator = initiator
        self.symmetric = SymmetricState(protocol_name.encode("ascii"))
        self.s = KeyPair(static_private) if static_private is not None else None
        self.e = KeyPair(ephemeral) if ephemeral is not None else None
        self.rs: bytes | None = None
        self.re: bytes | None = None
        self._psks: list[bytes] = []
        for psk in psks:
            self.add_psk(psk)
        self._psk_mode = self.pattern.psk_count > 0
        self._index = 0
        self._split: tuple[bytes, bytes] | None = None
        if remote_static is not None:
            _public_key(remote_static)
            self.rs = bytes(remote_static)
        self.symmetric.mix_hash(bytes(prologue))
        for owner_is_initiator, tokens in (
            (True, self.pattern.initiator_pre),
            (False, self.pattern.responder_pre),
        ):
            for symbol in tokens:
                self.symmetric.mix_hash(self._premessage_key(symbol, owner_is_initiator))

    def _premessage_key(self, symbol: str, owner_is_initiator: bool) -> bytes:
        local = owner_is_initiator == self.initiator
        if symbol == "s":
            key = (self.s.public if self.s else None) if local else self.rs
        else:
            key = (self.e.public if self.e else None) if local else self.re
        if key is None:
            raise HandshakeError(f"pattern needs a pre-shared {symbol!r} key")
        return key

    def add_psk(self, psk: bytes) -> None:
        """Queue a 32-byte psk for the next psk token (may be supplied mid-handshake)."""
        if not isinstance(psk, bytes | bytearray) or len(psk) != PSKLEN:
            raise HandshakeError("a psk is 32 bytes")
        self._psks.append(bytes(psk))

    @property
    def complete(self) -> bool:
        """Whether every handshake message has been processed."""
        return self._index >= len(self.pattern.messages)

    @property
    def handshake_hash(self) -> bytes:
        """The handshake hash h (final once the handshake is complete)."""
        return self.symmetric.h

    def is_my_turn_to_write(self) -> bool:
        """Whether the next handshake message is ours to write."""
        return (self._index % 2 == 0) == self.initiator

    def write_message(self, payload: bytes = b"") -> bytes:
        """Write the next handshake message carrying ``payload``."""
        if self.complete or not self.is_my_turn_to_write():
            raise HandshakeError("not our turn to write")
        if not isinstance(payload, bytes | bytearray | memoryview):
            raise HandshakeError("a handshake payload is bytes")
        saved = self._save()
        try:
            message = bytearray()
            for symbol in self.pattern.messages[self._index]:
                self._write_token(symbol, message)
            message += self.symmetric.encrypt_and_hash(bytes(payload))
            if len(message) > MAX_MESSAGE_LEN:
                raise HandshakeError("handshake message too long")
        except BaseException:
            self._restore(saved)
            raise
        self._advance()
        return bytes(message)

    def read_message(self, message: bytes) -> bytes:
        """Read the next handshake message and return its payload; no state change on failure."""
        if self.complete or self.is_my_turn_to_write():
            raise HandshakeError("not our turn to read")
        if not isinstance(message, bytes | bytearray | memoryview):
            raise HandshakeError("a handshake message is bytes")
        if len(message) > MAX_MESSAGE_LEN:
            raise HandshakeError("handshake message too long")
        data = bytes(message)
        saved = self._save()
        try:
            offset = 0
            for symbol in self.pattern.messages[self._index]:
                offset = self._read_token(symbol, data, offset)
            payload = self.symmetric.decrypt_and_hash(data[offset:])
        except BaseException:
            self._restore(saved)
            raise
        self._advance()
        return payload

    def split_keys(self) -> tuple[bytes, bytes]:
        """(send key, receive key) for this side once the handshake is complete."""
        if self._split is None:
            raise HandshakeError("handshake not complete")
        k1, k2 = self._split
        return (k1, k2) if self.initiator else (k2, k1)

    def split(self) -> tuple[CipherState, CipherState]:
        """(send, receive) transport CipherStates; they raise RecordError on failure."""
        send_key, recv_key = self.split_keys()
        return CipherState(send_key, error=RecordError), CipherState(recv_key, error=RecordError)

    def _advance(self) -> None:
        self._index += 1
        if self.complete:
            self._split = self.symmetric.split_keys()

    def _save(self) -> tuple[object, ...]:
        return (self.symmetric.snapshot(), self.e, self.re, self.rs, list(self._psks))

    def _restore(self, saved: tuple[object, ...]) -> None:
        symmetric, self.e, self.re, self.rs, psks = saved
        self.symmetric.restore(symmetric)  # type: ignore[arg-type]
        self._psks = psks  # type: ignore[assignment]

    def _write_token(self, symbol: str, message: bytearray) -> None:
        sym = self.symmetric
        if symbol == "e":
            if self.e is None:
                self.e = KeyPair.generate()
            message += self.e.public
            sym.mix_hash(self.e.public)
            if self._psk_mode:
                sym.mix_key(self.e.public)
        elif symbol == "s":
            if self.s is None:
                raise HandshakeError("pattern needs a local static key")
            message += sym.encrypt_and_hash(self.s.public)
        elif symbol == "psk":
            sym.mix_key_and_hash(self._take_psk())
        else:
            sym.mix_key(self._dh_token(symbol))

    def _read_token(self, symbol: str, data: bytes, offset: int) -> int:
        sym = self.symmetric
        if symbol == "e":
            end = offset + DHLEN
            if len(data) < end:
                raise HandshakeError("handshake message truncated")
            self.re = data[offset:end]
            sym.mix_hash(self.re)
            if self._psk_mode:
                sym.mix_key(self.re)
            return end
        if symbol == "s":
            end = offset + DHLEN + (TAGLEN if sym.cipher.has_key() else 0)
            if len(data) < end:
                raise HandshakeError("handshake message truncated")
            self.rs = sym.decrypt_and_hash(data[offset:end])
            return end
        if symbol == "psk":
            sym.mix_key_and_hash(self._take_psk())
        else:
            sym.mix_key(self._dh_token(symbol))
        return offset

    def _take_psk(self) -> bytes:
        if not self._psks:
            raise HandshakeError("psk required but not supplied")
        return self._psks.pop(0)

    def _dh_token(self, symbol: str) -> bytes:
        # First letter names the initiator's key, second the responder's (section 5.3).
        init_key, resp_key = symbol[0], symbol[1]
        local, remote = (init_key, resp_key) if self.initiator else (resp_key, init_key)
        pair = self.e if local == "e" else self.s
        public = self.re if remote == "e" else self.rs
        if pair is None or public is None:
            raise HandshakeError(f"{symbol}: missing key")
        return dh(pair.private, public)
