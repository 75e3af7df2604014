"""A corrupt state file is a clear error naming it, and is never overwritten."""

from __future__ import annotations

import json

import pytest

from relayclient import ClientError, StateFile


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe",
        b"[]",
        json.dumps({"version": 2, "servers": {}}).encode(),
        json.dumps({"version": 1, "static_private_key": "short"}).encode(),
        json.dumps({"version": 1, "servers": {"home": {"status": "active"}}}).encode(),
    ],
)
def test_corrupt_contents_are_state_invalid_and_left_untouched(tmp_path, content):
    path = tmp_path / "client.json"
    path.write_bytes(content)
    file = StateFile(path)
    with pytest.raises(ClientError) as caught:
        file.load()
    assert caught.value.code == "STATE_INVALID"
    assert str(path) in caught.value.message
    with pytest.raises(ClientError), file.edit() as state:
        state.ensure_static_key()
    assert path.read_bytes() == content


def test_the_error_names_the_bad_field(tmp_path):
    path = tmp_path / "client.json"
    entry = {"status": "active", "relay_url": "ws://r", "instance_id": "i"}
    path.write_text(json.dumps({"version": 1, "servers": {"home": entry}}))
    with pytest.raises(ClientError) as caught:
        StateFile(path).load()
    assert "servers.home.instance_public_key" in caught.value.message
