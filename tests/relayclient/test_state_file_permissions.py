"""The state file is 0600 and a directory it creates is 0700."""

from __future__ import annotations

import os
import stat

from relayclient import StateFile


def mode(path) -> int:
    """The permission bits of a path."""
    return stat.S_IMODE(os.stat(path).st_mode)


def test_file_is_0600_and_its_created_directory_0700(tmp_path):
    file = StateFile(tmp_path / ".config" / "pulse-relay" / "client.json")
    with file.edit() as state:
        state.ensure_static_key()
    assert mode(file.path) == 0o600
    assert mode(file.path.parent) == 0o700


def test_an_existing_directory_keeps_its_mode(tmp_path):
    os.chmod(tmp_path, 0o755)
    file = StateFile(tmp_path / "client.json")
    with file.edit() as state:
        state.ensure_static_key()
    assert mode(tmp_path) == 0o755
    assert mode(file.path) == 0o600


def test_a_loosened_file_is_reported_and_tightened_by_the_next_write(tmp_path):
    file = StateFile(tmp_path / "client.json")
    with file.edit() as state:
        state.ensure_static_key()
    os.chmod(file.path, 0o644)
    assert file.permissions_too_open()
    with file.edit():
        pass
    assert mode(file.path) == 0o600
    assert not file.permissions_too_open()
