"""The client's state file: its static key and, per paired server, what it needs to reconnect.

One JSON file (docs/client.md has the format), written atomically (temporary file in the same
directory, fsync, rename) with mode 0600, read-modify-written under an advisory lock so that two
commands running at once never lose each other's change. A file that cannot be read is a
STATE_INVALID error naming it, and is never overwritten: it holds the only copy of the keys.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from relayclient.errors import (
    ALIAS_IN_USE,
    NOT_PAIRED,
    SERVER_AMBIGUOUS,
    STATE_INVALID,
    ClientError,
)
from relayproto import b64, handshake
from relayproto.files import write_private_file

try:  # advisory locking is POSIX-only; elsewhere concurrent writers are simply not guarded
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

FORMAT_VERSION = 1
STATUSES = ("pending", "active")


def default_state_path() -> Path:
    """``$XDG_CONFIG_HOME/pulse-relay/client.json``, else ``~/.config/pulse-relay/client.json``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pulse-relay" / "client.json"


_b64e = b64.encode


def _b64d(value: Any, where: str, size: int) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a base64url string")
    try:
        raw = b64.decode(value)
    except ValueError:
        raise ValueError(f"{where} is not base64url") from None
    if len(raw) != size:
        raise ValueError(f"{where} must decode to {size} bytes")
    return raw


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where} must be a non-empty string")
    return value


@dataclass(frozen=True)
class Server:
    """One paired instance, as this client knows it."""

    alias: str
    relay_url: str
    instance_id: str
    instance_public_key: bytes
    device_psk: bytes = field(repr=False)
    device_name: str
    status: str
    paired_at: str

    @property
    def fingerprint(self) -> str:
        """The pinned instance key's fingerprint, for display."""
        return handshake.key_fingerprint(self.instance_public_key)

    def just_paired(self, within: float = 15.0) -> bool:
        """Paired in the last ``within`` seconds: the instance may not have told its relay
        about this device yet (it does within about a second)."""
        try:
            when = datetime.datetime.fromisoformat(self.paired_at)
        except ValueError:
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.UTC)
        age = datetime.datetime.now(datetime.UTC) - when
        return datetime.timedelta(0) <= age <= datetime.timedelta(seconds=within)

    def with_status(self, status: str) -> Server:
        """A copy with another status."""
        return replace(self, status=status)

    def to_json(self) -> dict[str, str]:
        """The entry as stored under ``servers.<alias>``."""
        return {
            "relay_url": self.relay_url,
            "instance_id": self.instance_id,
            "instance_public_key": _b64e(self.instance_public_key),
            "device_psk": _b64e(self.device_psk),
            "device_name": self.device_name,
            "status": self.status,
            "paired_at": self.paired_at,
        }

    @classmethod
    def from_json(cls, alias: str, entry: Any) -> Server:
        """Strictly read one stored entry; ValueError names the bad field."""
        where = f"servers.{alias}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} must be an object")
        status = entry.get("status")
        if status not in STATUSES:
            raise ValueError(f"{where}.status must be one of {', '.join(STATUSES)}")
        return cls(
            alias=alias,
            relay_url=_text(entry.get("relay_url"), f"{where}.relay_url"),
            instance_id=_text(entry.get("instance_id"), f"{where}.instance_id"),
            instance_public_key=_b64d(
                entry.get("instance_public_key"), f"{where}.instance_public_key", 32
            ),
            device_psk=_b64d(entry.get("device_psk"), f"{where}.device_psk", 32),
            device_name=_text(entry.get("device_name"), f"{where}.device_name"),
            status=status,
            paired_at=_text(entry.get("paired_at"), f"{where}.paired_at"),
        )


@dataclass
class ClientState:
    """The decoded contents of the state file."""

    static_private_key: bytes | None = field(default=None, repr=False)
    servers: dict[str, Server] = field(default_factory=dict)

    def ensure_static_key(self) -> bytes:
        """This client's static private key, made on first use."""
        if self.static_private_key is None:
            self.static_private_key = handshake.generate_static_key()
        return self.static_private_key

    @property
    def public_key(self) -> bytes | None:
        """This client's static public key, if it has one yet."""
        if self.static_private_key is None:
            return None
        return handshake.public_key(self.static_private_key)

    def resolve(self, alias: str | None) -> Server:
        """The server named ``alias``, or the only one when ``alias`` is None."""
        if alias is None:
            if len(self.servers) == 1:
                return next(iter(self.servers.values()))
            if not self.servers:
                raise ClientError(NOT_PAIRED, "no server is paired yet: run `pair` with a link")
            names = ", ".join(sorted(self.servers))
            raise ClientError(SERVER_AMBIGUOUS, f"several servers are paired ({names}): pick one")
        server = self.servers.get(alias)
        if server is None:
            known = ", ".join(sorted(self.servers)) or "none"
            raise ClientError(
                NOT_PAIRED, f"no server named {alias!r} is paired (known: {known}): pair it first"
            )
        return server

    def check_alias(self, alias: str, instance_id: str) -> None:
        """Refuse to reuse an alias that names a different instance."""
        existing = self.servers.get(alias)
        if existing is not None and existing.instance_id != instance_id:
            raise ClientError(
                ALIAS_IN_USE,
                f"{alias!r} already names instance {existing.instance_id}: "
                f"choose another --name or `forget {alias}` first",
            )

    def to_json(self) -> dict[str, Any]:
        """The whole file's JSON object."""
        return {
            "version": FORMAT_VERSION,
            "static_private_key": (
                _b64e(self.static_private_key) if self.static_private_key else None
            ),
            "servers": {alias: s.to_json() for alias, s in sorted(self.servers.items())},
        }

    @classmethod
    def from_json(cls, data: Any) -> ClientState:
        """Strictly read the file's JSON object; ValueError names the bad field."""
        if not isinstance(data, dict):
            raise ValueError("the top level must be an object")
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"version must be {FORMAT_VERSION} (written by another release?)")
        key = data.get("static_private_key")
        servers = data.get("servers", {})
        if not isinstance(servers, dict):
            raise ValueError("servers must be an object")
        return cls(
            static_private_key=None if key is None else _b64d(key, "static_private_key", 32),
            servers={alias: Server.from_json(alias, entry) for alias, entry in servers.items()},
        )


class StateFile:
    """The state file on disk: read snapshots with ``load()``, change it with ``edit()``."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_state_path()

    def __repr__(self) -> str:
        """Name the file, never its contents."""
        return f"StateFile({str(self.path)!r})"

    def load(self) -> ClientState:
        """The current contents; an empty state if the file does not exist yet."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return ClientState()
        except OSError as exc:
            raise ClientError(
                STATE_INVALID, f"cannot read the state file {self.path}: {exc}"
            ) from exc
        try:
            return ClientState.from_json(json.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
            raise ClientError(
                STATE_INVALID,
                f"the state file {self.path} is corrupt ({exc}); it was left untouched: "
                "restore it from a backup, or move it away and pair again",
            ) from None

    def permissions_too_open(self) -> bool:
        """Whether group or others may read the file (it holds private keys)."""
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            return False
        return bool(stat.S_IMODE(mode) & 0o077)

    @contextlib.contextmanager
    def edit(self) -> Iterator[ClientState]:
        """Lock, load, let the caller change the state, then write it atomically."""
        self._ensure_dir()
        with self._locked():
            state = self.load()
            yield state
            self._write(state)

    def _ensure_dir(self) -> None:
        directory = self.path.parent
        if not directory.exists():
            # Only directories we create are forced to 0700; an existing one is the user's.
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            yield
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock

    def _write(self, state: ClientState) -> None:
        data = (json.dumps(state.to_json(), indent=2) + "\n").encode("utf-8")
        write_private_file(self.path, data)
