"""relay.enc: sealed round trip, owner-only permissions, atomic writes, clear errors."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from instance import relayenc, secretbox
from instance.relayenc import RelayEnc, RelayEncError

ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_round_trip_keeps_every_field(tmp_path):
    data = RelayEnc(
        enabled=True,
        server_url="wss://relay.example.org",
        licence_token="pulse-lic1.x.y",
        pairing_requires_approval=False,
        identity_private=bytes(range(32)),
        identity_created_at="2030-01-01T00:00:00+00:00",
    )
    relayenc.save(data, tmp_path)
    loaded = relayenc.load(tmp_path)
    assert loaded.enabled is True
    assert loaded.server_url == "wss://relay.example.org"
    assert loaded.licence_token == "pulse-lic1.x.y"
    assert loaded.pairing_requires_approval is False
    assert loaded.identity_private == bytes(range(32))
    assert loaded.updated_at


def test_missing_file_gives_defaults(tmp_path):
    assert relayenc.load(tmp_path) == RelayEnc()


def test_file_is_ciphertext(tmp_path):
    relayenc.save(RelayEnc(server_url="wss://secret-host.example"), tmp_path)
    raw = (tmp_path / "relay.enc").read_bytes()
    assert raw.startswith(relayenc.MAGIC)
    assert b"secret-host" not in raw


def test_files_are_owner_only(tmp_path):
    directory = tmp_path / "d"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    relayenc.save(RelayEnc(enabled=True), directory)
    assert mode(directory / "relay.enc") == 0o600
    assert mode(directory / "relay.key") == 0o600
    assert mode(directory) == 0o700


def test_key_file_readable_by_others_is_refused(tmp_path):
    relayenc.save(RelayEnc(enabled=True), tmp_path)
    os.chmod(tmp_path / "relay.key", 0o644)
    with pytest.raises(RelayEncError, match="chmod 600"):
        relayenc.load(tmp_path)


def test_key_file_of_wrong_size_is_refused(tmp_path):
    relayenc.save(RelayEnc(enabled=True), tmp_path)
    (tmp_path / "relay.key").write_bytes(b"short")
    with pytest.raises(RelayEncError, match="not 32"):
        relayenc.load(tmp_path)


def test_corrupt_file_is_a_clear_error_and_never_overwritten(tmp_path):
    relayenc.save(RelayEnc(enabled=True), tmp_path)
    target = tmp_path / "relay.enc"
    corrupted = bytearray(target.read_bytes())
    corrupted[-5] ^= 0xFF
    target.write_bytes(bytes(corrupted))
    with pytest.raises(RelayEncError, match="corrupt"):
        relayenc.load(tmp_path)
    with pytest.raises(RelayEncError):
        relayenc.save(RelayEnc(enabled=False), tmp_path)
    assert target.read_bytes() == bytes(corrupted)


def test_garbage_without_header_is_a_clear_error(tmp_path):
    (tmp_path / "relay.enc").write_bytes(b"{}")
    with pytest.raises(RelayEncError, match="bad header"):
        relayenc.load(tmp_path)


def test_wrong_key_is_a_clear_error(tmp_path):
    relayenc.save(RelayEnc(enabled=True), tmp_path)
    key = tmp_path / "relay.key"
    key.write_bytes(os.urandom(32))
    os.chmod(key, 0o600)
    with pytest.raises(RelayEncError, match=r"another relay\.key"):
        relayenc.load(tmp_path)


def test_missing_key_is_a_clear_error(tmp_path):
    relayenc.save(RelayEnc(enabled=True), tmp_path)
    (tmp_path / "relay.key").unlink()
    with pytest.raises(RelayEncError, match="missing"):
        relayenc.load(tmp_path)


def test_failed_rename_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    relayenc.save(RelayEnc(server_url="wss://old.example"), tmp_path)

    def boom(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(relayenc, "_rename", boom)
    with pytest.raises(OSError, match="disk full"):
        relayenc.save(RelayEnc(server_url="wss://new.example"), tmp_path)
    assert relayenc.load(tmp_path).server_url == "wss://old.example"
    assert not list(tmp_path.glob(".relay.enc.*"))


def test_crash_between_write_and_rename_keeps_the_old_file(tmp_path):
    relayenc.save(RelayEnc(server_url="wss://old.example"), tmp_path)
    # A real process dies (os._exit: no cleanup, no finally) after writing the temp file.
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from instance import relayenc
        relayenc._rename = lambda source, target: os._exit(9)
        new = relayenc.RelayEnc(server_url="wss://new.example")
        relayenc.save(new, relayenc.Path({str(tmp_path)!r}))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    assert result.returncode == 9
    leftovers = list(tmp_path.glob(".relay.enc.*.tmp"))
    assert leftovers, "the crashed writer left its temp file behind"
    assert relayenc.load(tmp_path).server_url == "wss://old.example"
    # The next write succeeds and is not confused by the leftover.
    relayenc.save(RelayEnc(server_url="wss://next.example"), tmp_path)
    assert relayenc.load(tmp_path).server_url == "wss://next.example"


def test_sealed_blob_cannot_be_reused_for_another_purpose(tmp_path):
    key = secretbox.load_key(tmp_path, create=True)
    blob = secretbox.seal(b"psk", purpose=b"device psk", key=key)
    assert secretbox.open_sealed(blob, purpose=b"device psk", key=key) == b"psk"
    with pytest.raises(secretbox.SecretBoxError):
        secretbox.open_sealed(blob, purpose=b"pairing secret", key=key)
