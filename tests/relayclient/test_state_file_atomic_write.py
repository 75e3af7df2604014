"""A write that fails half-way leaves the previous file whole and no temporary files behind."""

from __future__ import annotations

import os

import pytest

from relayclient import StateFile


def test_a_failed_rename_keeps_the_old_contents(tmp_path, monkeypatch):
    file = StateFile(tmp_path / "client.json")
    with file.edit() as state:
        state.ensure_static_key()
    before = file.path.read_bytes()

    def crash(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"), file.edit() as state:
        state.static_private_key = bytes(32)
    assert file.path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["client.json", "client.json.lock"]


def test_an_exception_while_editing_writes_nothing(tmp_path):
    file = StateFile(tmp_path / "client.json")
    with file.edit() as state:
        state.ensure_static_key()
    before = file.path.read_bytes()
    with pytest.raises(RuntimeError), file.edit() as state:
        state.static_private_key = bytes(32)
        raise RuntimeError("caller failed")
    assert file.path.read_bytes() == before


def test_writes_go_through_fsync_and_rename(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: calls.append("replace") or real_replace(a, b))
    file = StateFile(tmp_path / "client.json")
    with file.edit() as state:
        state.ensure_static_key()
    assert calls[:2] == ["fsync", "replace"]
