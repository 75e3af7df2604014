"""Sealing small secrets at rest with ChaCha20-Poly1305 under the data directory's key file.

One implementation for everything the instance keeps secret on disk or in the database:
``relay.enc``, device psks and pairing secrets. The key is 32 random bytes in
``PULSE_DATA_DIR/relay.key`` (mode 0600, owned by the process's user). A sealed blob is
``b"PSB1" || nonce(12) || ciphertext+tag``; the associated data is the header plus a
*purpose* label, so a blob sealed for one use cannot be replayed as another.
"""

from __future__ import annotations

import os
import secrets
import stat
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

KEY_FILE_NAME = "relay.key"
KEY_LEN = 32
NONCE_LEN = 12
HEADER = b"PSB1"
_cache: dict[str, tuple[tuple[int, int, int], bytes]] = {}
_lock = threading.Lock()


class SecretBoxError(Exception):
    """A sealed blob or the key file cannot be used; the message says how to fix it."""


class KeyFileError(SecretBoxError):
    """The key file is missing, has the wrong size or is readable by others."""


def data_dir() -> Path:
    """The configured data directory (read at call time so tests can point it elsewhere)."""
    from django.conf import settings

    return Path(settings.DATA_DIR)


def key_path(directory: Path | None = None) -> Path:
    """Where the key file lives."""
    return (directory or data_dir()) / KEY_FILE_NAME


def _check_mode(path: Path, st: os.stat_result) -> None:
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path} is readable or writable by group/others (mode {stat.S_IMODE(st.st_mode):o}): "
            f"run `chmod 600 {path}`."
        )
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise KeyFileError(
            f"{path} belongs to uid {st.st_uid}, not to this process's user: "
            f"run `chown {os.geteuid()} {path}` or run Relay as the file's owner."
        )


def _read_key(path: Path) -> bytes:
    st = path.stat()
    _check_mode(path, st)
    signature = (st.st_ino, st.st_mtime_ns, st.st_size)
    cached = _cache.get(str(path))
    if cached and cached[0] == signature:
        return cached[1]
    key = path.read_bytes()
    if len(key) != KEY_LEN:
        raise KeyFileError(
            f"{path} holds {len(key)} bytes, not {KEY_LEN}: restore it from your backup "
            "(a new key cannot open what the old one sealed)."
        )
    _cache[str(path)] = (signature, key)
    return key


def load_key(directory: Path | None = None, *, create: bool = False) -> bytes:
    """Return the 32-byte key; create it (0600, fsynced) when ``create`` and it is missing."""
    path = key_path(directory)
    with _lock:
        try:
            return _read_key(path)
        except FileNotFoundError:
            if not create:
                raise KeyFileError(
                    f"{path} is missing: restore it from your backup, or remove relay.enc "
                    "to start over with fresh relay settings."
                ) from None
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process won the race: use its key
            return _read_key(path)
        try:
            os.write(fd, secrets.token_bytes(KEY_LEN))
            os.fsync(fd)
        finally:
            os.close(fd)
        return _read_key(path)


def key_exists(directory: Path | None = None) -> bool:
    """Whether the key file is present."""
    return key_path(directory).exists()


def seal(plaintext: bytes, *, purpose: bytes, key: bytes | None = None) -> bytes:
    """Encrypt and authenticate ``plaintext`` for ``purpose`` (creates the key on first use)."""
    key = key if key is not None else load_key(create=True)
    nonce = secrets.token_bytes(NONCE_LEN)
    return HEADER + nonce + ChaCha20Poly1305(key).encrypt(nonce, plaintext, HEADER + purpose)


def open_sealed(blob: bytes, *, purpose: bytes, key: bytes | None = None) -> bytes:
    """Decrypt a blob made by :func:`seal` for the same purpose, or raise SecretBoxError."""
    blob = bytes(blob)
    if len(blob) < len(HEADER) + NONCE_LEN + 16 or not blob.startswith(HEADER):
        raise SecretBoxError("sealed data is truncated or not in the PSB1 format")
    key = key if key is not None else load_key()
    nonce = blob[len(HEADER) : len(HEADER) + NONCE_LEN]
    try:
        return ChaCha20Poly1305(key).decrypt(
            nonce, blob[len(HEADER) + NONCE_LEN :], HEADER + purpose
        )
    except InvalidTag:
        raise SecretBoxError(
            "sealed data does not decrypt with relay.key (tampered, or sealed under another "
            "key): restore the matching relay.key from your backup"
        ) from None
