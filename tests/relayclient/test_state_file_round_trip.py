"""The state file keeps the client key and every server, and never shows secrets."""

from __future__ import annotations

import json
import os

import pytest

from relayclient import ClientError, Server, StateFile
from relayclient.state import default_state_path


def server(alias: str, **changes) -> Server:
    """A stored server entry with random keys."""
    values = {
        "alias": alias,
        "relay_url": "wss://relay.example.org",
        "instance_id": f"{alias}-id",
        "instance_public_key": os.urandom(32),
        "device_psk": os.urandom(32),
        "device_name": "phone",
        "status": "active",
        "paired_at": "2025-01-02T03:04:05+00:00",
    }
    values.update(changes)
    return Server(**values)


def test_a_missing_file_is_an_empty_state(tmp_path):
    state = StateFile(tmp_path / "nothing.json").load()
    assert state.servers == {} and state.static_private_key is None


def test_key_and_several_servers_survive_a_round_trip(tmp_path):
    file = StateFile(tmp_path / "client.json")
    home, cabin = server("home"), server("cabin", status="pending")
    with file.edit() as state:
        key = state.ensure_static_key()
        state.servers["home"] = home
        state.servers["cabin"] = cabin
    loaded = file.load()
    assert loaded.static_private_key == key
    assert loaded.servers == {"home": home, "cabin": cabin}
    assert json.loads(file.path.read_text())["version"] == 1


def test_secrets_are_not_in_reprs(tmp_path):
    file = StateFile(tmp_path / "client.json")
    entry = server("home")
    with file.edit() as state:
        key = state.ensure_static_key()
        state.servers["home"] = entry
    shown = repr(file.load()) + repr(entry) + repr(file)
    for secret in (key, entry.device_psk):
        assert secret.hex() not in shown
        assert secret not in shown.encode()


def test_the_only_server_is_the_default_and_several_need_a_name(tmp_path):
    file = StateFile(tmp_path / "client.json")
    with pytest.raises(ClientError) as caught:
        file.load().resolve(None)
    assert caught.value.code == "NOT_PAIRED"
    with file.edit() as state:
        state.servers["home"] = server("home")
    assert file.load().resolve(None).alias == "home"
    with file.edit() as state:
        state.servers["cabin"] = server("cabin")
    with pytest.raises(ClientError) as caught:
        file.load().resolve(None)
    assert caught.value.code == "SERVER_AMBIGUOUS"
    assert "cabin" in caught.value.message and "home" in caught.value.message


def test_the_default_location_follows_xdg_config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_state_path() == tmp_path / "pulse-relay" / "client.json"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_state_path() == tmp_path / "home" / ".config" / "pulse-relay" / "client.json"
