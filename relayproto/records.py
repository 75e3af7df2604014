"""The encrypted transport after the handshake: Noise transport messages with strict counters.

A record is ChaCha20-Poly1305(k, nonce = 4 zero bytes || u64 little-endian counter, ad = empty)
of 1..MAX_PLAINTEXT plaintext bytes (one inner message); the counter is implicit, so records
must arrive in order and exactly once. Both sides apply Noise Rekey() every ``rekey_interval``
records per direction with no signalling. Any failure to open breaks the channel for good; the
inner protocol's encrypted CLOSE message is what makes truncation of the whole stream visible.

Several records travel back to back in one DATA payload, each behind a u16 big-endian length.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from relayproto.errors import RecordError
from relayproto.noise import MAX_NONCE, rekey_key

TAG_LEN = 16
MAX_RECORD = 65535
MAX_PLAINTEXT = MAX_RECORD - TAG_LEN
REKEY_INTERVAL = 1 << 16
LENGTH_PREFIX = 2
_INTO_MIN_AVERAGE = 4096

_nonce = struct.Struct("<4xQ").pack
_u16_into = struct.Struct(">H").pack_into
_u16 = struct.Struct(">H").pack
# A send/receive limit of -1 sends every call down the slow path, which raises: this keeps
# the closed and broken checks out of the hot path at the cost of one integer comparison.
_DEAD = -1


class SecureChannel:
    """One direction pair of record keys, with strict counters, scheduled rekey and close."""

    __slots__ = (
        "_broken",
        "_interval",
        "_recv_aead",
        "_recv_key",
        "_recv_limit",
        "_recv_n",
        "_send_aead",
        "_send_key",
        "_send_limit",
        "_send_n",
    )

    def __init__(
        self, send_key: bytes, recv_key: bytes, *, rekey_interval: int = REKEY_INTERVAL
    ) -> None:
        """Keys from the handshake's Split(); ``rekey_interval`` must match the peer's."""
        for key in (send_key, recv_key):
            if not isinstance(key, bytes | bytearray) or len(key) != 32:
                raise RecordError("record keys are 32 bytes")
        if isinstance(rekey_interval, bool) or not isinstance(rekey_interval, int):
            raise RecordError("rekey interval must be an int")
        if rekey_interval < 1:
            raise RecordError("rekey interval must be at least 1")
        self._interval = rekey_interval
        self._send_key: bytes | None = bytes(send_key)
        self._recv_key: bytes | None = bytes(recv_key)
        self._send_aead = ChaCha20Poly1305(self._send_key)
        self._recv_aead = ChaCha20Poly1305(self._recv_key)
        self._send_n = 0
        self._recv_n = 0
        self._send_limit = min(rekey_interval, MAX_NONCE)
        self._recv_limit = self._send_limit
        self._broken = False

    # --- state -------------------------------------------------------------------------------

    @property
    def broken(self) -> bool:
        """Whether a record failed to open (the channel must be torn down)."""
        return self._broken

    @property
    def closed(self) -> bool:
        """Whether the channel was closed or broken (every call now raises)."""
        return self._send_limit == _DEAD

    @property
    def records_sent(self) -> int:
        """Records sealed so far (the next send counter)."""
        return self._send_n

    @property
    def records_received(self) -> int:
        """Records opened so far (the next receive counter)."""
        return self._recv_n

    def close(self) -> None:
        """Tear down both directions locally; every later call raises RecordError."""
        self._send_limit = self._recv_limit = _DEAD
        self._send_key = self._recv_key = None

    def _break(self) -> None:
        self._broken = True
        self.close()

    # --- sealing -----------------------------------------------------------------------------

    def seal(self, plaintext: bytes) -> bytes:
        """Encrypt 1..MAX_PLAINTEXT bytes into the next record."""
        kind = type(plaintext)
        size = len(plaintext) if kind is bytes or kind is bytearray else _byte_len(plaintext)
        if not 0 < size <= MAX_PLAINTEXT:
            raise RecordError(f"plaintext must be 1..{MAX_PLAINTEXT} bytes, got {size}")
        n = self._send_n
        if n >= self._send_limit:
            self._send_slow_path()
        try:
            record = self._send_aead.encrypt(_nonce(n), plaintext, None)
        except (TypeError, ValueError) as exc:
            raise RecordError(f"cannot seal: {exc}") from None
        self._send_n = n + 1
        return record

    def seal_many(self, chunks: Sequence[bytes], *, headroom: int = 0) -> bytearray:
        """Seal each chunk into one DATA payload (u16 length + record, back to back).

        The first ``headroom`` bytes are left zeroed so the caller can write a frame header in
        place instead of copying the payload once more.
        """
        if self._send_limit == _DEAD:
            raise RecordError("channel closed for sending")
        if isinstance(headroom, bool) or not isinstance(headroom, int) or headroom < 0:
            raise RecordError("headroom must be a non-negative int")
        try:
            chunks = chunks if isinstance(chunks, list | tuple) else list(chunks)
        except TypeError:
            raise RecordError("chunks must be a sequence of bytes") from None
        # Validate everything first so that a bad chunk costs no nonce.
        sizes = [len(c) if type(c) is bytes else _byte_len(c) for c in chunks]
        for size in sizes:
            if not 0 < size <= MAX_PLAINTEXT:
                raise RecordError(f"plaintext must be 1..{MAX_PLAINTEXT} bytes, got {size}")
        n = self._send_n
        limit = self._send_limit
        aead = self._send_aead
        try:
            if sum(sizes) >= _INTO_MIN_AVERAGE * len(sizes):
                # Large records: encrypt straight into the payload, saving one copy of each.
                buffer = bytearray(headroom + sum(sizes) + (LENGTH_PREFIX + TAG_LEN) * len(sizes))
                view = memoryview(buffer)
                pos = headroom
                for chunk, size in zip(chunks, sizes, strict=True):
                    if n >= limit:
                        self._send_n = n
                        self._send_slow_path()
                        limit, aead = self._send_limit, self._send_aead
                    start = pos + LENGTH_PREFIX
                    pos = start + size + TAG_LEN
                    _u16_into(buffer, start - LENGTH_PREFIX, size + TAG_LEN)
                    aead.encrypt_into(_nonce(n), chunk, None, view[start:pos])
                    n += 1
                view.release()
                return buffer
            # Small records: encrypt() and one join beat encrypt_into's per-call overhead.
            parts: list[bytes] = [bytes(headroom)] if headroom else []
            for chunk, size in zip(chunks, sizes, strict=True):
                if n >= limit:
                    self._send_n = n
                    self._send_slow_path()
                    limit, aead = self._send_limit, self._send_aead
                parts.append(_u16(size + TAG_LEN))
                parts.append(aead.encrypt(_nonce(n), chunk, None))
                n += 1
            return bytearray().join(parts)
        except (TypeError, ValueError) as exc:
            # Records already sealed used their nonces and the peer will never see them.
            self._break()
            raise RecordError(f"cannot seal: {exc}") from None
        finally:
            self._send_n = n

    def _send_slow_path(self) -> None:
        if self._send_limit == _DEAD:
            raise RecordError("channel closed for sending")
        if self._send_n >= MAX_NONCE:
            self._break()
            raise RecordError("send counter exhausted")
        # Every interval-th record starts under the next key; the nonce keeps counting.
        self._send_key = rekey_key(self._send_key)  # type: ignore[arg-type]
        self._send_aead = ChaCha20Poly1305(self._send_key)
        self._send_limit = min(self._send_limit + self._interval, MAX_NONCE)

    # --- opening -----------------------------------------------------------------------------

    def open(self, record: bytes) -> bytes:
        """Decrypt the next record; any failure breaks the channel for good."""
        n = self._recv_n
        if n >= self._recv_limit:
            self._recv_slow_path()
        try:
            kind = type(record)
            if kind is memoryview:
                size = record.nbytes  # type: ignore[union-attr]
            else:
                size = len(record) if kind is bytes else _byte_len(record)
            if size > MAX_RECORD:
                raise ValueError("record longer than the maximum")
            plaintext = self._recv_aead.decrypt(_nonce(n), record, None)
        except (InvalidTag, TypeError, ValueError, RecordError):
            self._break()
            raise RecordError("record failed to open") from None
        if not plaintext:
            self._break()
            raise RecordError("empty record")
        self._recv_n = n + 1
        return plaintext

    def open_many(self, payload: bytes) -> list[bytes]:
        """Open every record of a DATA payload in order; any failure breaks the channel."""
        # unpack_records and open() fused into one loop: this is the receive hot path.
        if self._recv_limit == _DEAD:
            raise RecordError("channel closed for receiving")
        try:
            view = memoryview(payload).cast("B")
        except (TypeError, ValueError):
            self._break()
            raise RecordError("payload must be bytes") from None
        total = len(view)
        pos = 0
        plaintexts = []
        n = self._recv_n
        limit = self._recv_limit
        decrypt = self._recv_aead.decrypt
        try:
            while pos < total:
                start = pos + LENGTH_PREFIX
                if start > total:
                    raise ValueError("truncated record length")
                end = start + ((view[pos] << 8) | view[pos + 1])
                if end - start < TAG_LEN or end > total:
                    raise ValueError("record length out of bounds")
                if n >= limit:
                    self._recv_n = n
                    self._recv_slow_path()
                    limit, decrypt = self._recv_limit, self._recv_aead.decrypt
                plaintext = decrypt(_nonce(n), view[start:end], None)
                if not plaintext:
                    raise ValueError("empty record")
                plaintexts.append(plaintext)
                n += 1
                pos = end
        except (InvalidTag, ValueError, RecordError):
            self._recv_n = n
            self._break()
            raise RecordError("DATA payload failed to open") from None
        self._recv_n = n
        return plaintexts

    def _recv_slow_path(self) -> None:
        if self._recv_limit == _DEAD:
            raise RecordError("channel closed for receiving")
        if self._recv_n >= MAX_NONCE:
            self._break()
            raise RecordError("receive counter exhausted")
        self._recv_key = rekey_key(self._recv_key)  # type: ignore[arg-type]
        self._recv_aead = ChaCha20Poly1305(self._recv_key)
        self._recv_limit = min(self._recv_limit + self._interval, MAX_NONCE)


def _byte_len(data: object) -> int:
    try:
        with memoryview(data) as view:  # type: ignore[arg-type]
            return view.nbytes
    except TypeError:
        raise RecordError("expected a bytes-like object") from None


def pack_records(records: Sequence[bytes]) -> bytes:
    """Join records into one DATA payload: u16 big-endian length, then the record, repeated."""
    parts = []
    try:
        for record in records:
            size = _byte_len(record)
            if not TAG_LEN <= size <= MAX_RECORD:
                raise RecordError(f"a record is {TAG_LEN}..{MAX_RECORD} bytes, got {size}")
            parts.append(_u16(size))
            parts.append(record)
        return b"".join(parts)
    except TypeError:
        raise RecordError("records must be bytes") from None


def unpack_records(payload: bytes) -> Iterator[memoryview]:
    """Yield each record of a DATA payload as a memoryview; RecordError if malformed."""
    try:
        view = memoryview(payload).cast("B")
    except (TypeError, ValueError):
        raise RecordError("payload must be bytes") from None
    total = len(view)
    pos = 0
    while pos < total:
        if pos + LENGTH_PREFIX > total:
            raise RecordError("truncated record length")
        size = (view[pos] << 8) | view[pos + 1]
        start = pos + LENGTH_PREFIX
        end = start + size
        if size < TAG_LEN or end > total:
            raise RecordError("record length out of bounds")
        yield view[start:end]
        pos = end
