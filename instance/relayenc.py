"""``relay.enc``: the instance's relay settings and identity key, sealed at rest.

The file is ``MAGIC || secretbox.seal(json)`` in ``PULSE_DATA_DIR``. It is written atomically
(temporary file in the same directory, fsync, rename, fsync of the directory) under an
exclusive lock, so a crash leaves either the old or the new file, never a mix. A file that
cannot be read, decrypted or parsed raises :class:`RelayEncError` and is never overwritten:
the owner has to restore it (with its ``relay.key``) or remove it deliberately.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from instance import secretbox
from relayproto import b64
from relayproto.files import write_private_file

FILE_NAME = "relay.enc"
MAGIC = b"pulse relay.enc v1\n"
PURPOSE = b"pulse relay.enc v1"
FORMAT_VERSION = 1


class RelayEncError(secretbox.SecretBoxError):
    """relay.enc exists but cannot be used; start-up stops and the API answers 503."""


@dataclass(frozen=True)
class RelayEnc:
    """What relay.enc holds; defaults describe an instance that was never configured."""

    enabled: bool = False
    server_url: str = ""
    licence_token: str = ""
    pairing_requires_approval: bool | None = None
    identity_private: bytes | None = field(default=None, repr=False)
    identity_created_at: str = ""
    updated_at: str = ""

    def to_json(self) -> bytes:
        """Serialise to the JSON document that gets sealed."""
        data = asdict(self)
        data["identity_private"] = (
            b64.encode(self.identity_private) if self.identity_private else None
        )
        data["version"] = FORMAT_VERSION
        return json.dumps(data, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> RelayEnc:
        """Parse and type-check the sealed JSON document."""
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise RelayEncError("relay.enc decrypted but is not JSON") from None
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            raise RelayEncError("relay.enc has an unknown format version: upgrade Relay")
        kinds = {
            "enabled": (bool,),
            "server_url": (str,),
            "licence_token": (str,),
            "pairing_requires_approval": (bool, type(None)),
            "identity_private": (str, type(None)),
            "identity_created_at": (str,),
            "updated_at": (str,),
        }
        values = {}
        for name, allowed in kinds.items():
            value = data.get(name, getattr(cls, name))
            if not isinstance(value, allowed):
                raise RelayEncError(f"relay.enc field {name!r} has the wrong type")
            values[name] = value
        if values["identity_private"] is not None:
            key = b64.decode(values["identity_private"])
            if len(key) != 32:
                raise RelayEncError("relay.enc identity key is not 32 bytes")
            values["identity_private"] = key
        return cls(**values)


def path(directory: Path | None = None) -> Path:
    """Where relay.enc lives."""
    return (directory or secretbox.data_dir()) / FILE_NAME


def exists(directory: Path | None = None) -> bool:
    """Whether relay.enc has been written."""
    return path(directory).exists()


def load(directory: Path | None = None) -> RelayEnc:
    """Read relay.enc; an absent file gives the defaults, an unusable one raises RelayEncError."""
    file = path(directory)
    try:
        blob = file.read_bytes()
    except FileNotFoundError:
        return RelayEnc()
    except OSError as exc:
        raise RelayEncError(
            f"{file} cannot be read ({exc.strerror}): fix its permissions"
        ) from None
    if not blob.startswith(MAGIC):
        raise RelayEncError(
            f"{file} is not a relay.enc file (bad header): restore it from your backup, "
            "or move it away to start over with fresh relay settings"
        )
    try:
        key = secretbox.load_key(file.parent)
    except secretbox.KeyFileError as exc:
        raise RelayEncError(f"{file} cannot be opened: {exc}") from None
    try:
        raw = secretbox.open_sealed(blob[len(MAGIC) :], purpose=PURPOSE, key=key)
    except secretbox.SecretBoxError as exc:
        raise RelayEncError(
            f"{file} is corrupt or was sealed under another relay.key ({exc}); it was left "
            "untouched: restore both files from the same backup, or move relay.enc away to "
            "start over"
        ) from None
    return RelayEnc.from_json(raw)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialise writers across processes with an flock on a sibling lock file."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(directory / (FILE_NAME + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _rename(source: str, target: Path) -> None:
    """The commit point of a write (a seam for the crash test)."""
    os.replace(source, target)


def _write_atomically(target: Path, payload: bytes) -> None:
    # 0700: nobody else may list or replace what is in the data directory.
    with contextlib.suppress(PermissionError):
        os.chmod(target.parent, 0o700)
    # The lambda looks _rename up at call time, so the crash test's seam applies.
    write_private_file(target, payload, rename=lambda source, dest: _rename(source, dest))


def update(change: Callable[[RelayEnc], RelayEnc], directory: Path | None = None) -> RelayEnc:
    """Read, change and write relay.enc under the lock; refuses if the current file is unusable."""
    directory = directory or secretbox.data_dir()
    with _locked(directory):
        current = load(directory)  # raises on a corrupt file, so it is never overwritten
        new = replace(change(current), updated_at=datetime.now(UTC).isoformat())
        key = secretbox.load_key(directory, create=True)
        sealed = secretbox.seal(new.to_json(), purpose=PURPOSE, key=key)
        _write_atomically(path(directory), MAGIC + sealed)
        return new


def save(data: RelayEnc, directory: Path | None = None) -> RelayEnc:
    """Replace the stored settings with ``data`` (atomically; never over a corrupt file)."""
    return update(lambda _current: data, directory)
