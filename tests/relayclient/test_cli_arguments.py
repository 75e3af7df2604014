"""Command-line arguments, exit codes and error lines, without any network."""

from __future__ import annotations

import base64
import os

import pytest

from relayclient import StateFile
from relayclient.cli import format_event, parse_headers
from relayclient.sse import SSEEvent
from tests.relayclient.cli_support import run_cli
from tests.relayclient.test_state_file_round_trip import server


@pytest.fixture
def state_path(tmp_path):
    """Where this test's state file lives."""
    return tmp_path / "client.json"


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["request", "GET"],
        ["sse", "/events", "--limit", "0"],
        ["pair"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(state_path, args, capsys):
    with pytest.raises(SystemExit) as caught:
        run_cli(state_path, *args)
    assert caught.value.code == 2


def test_a_malformed_header_is_a_usage_error(state_path):
    result = run_cli(state_path, "request", "GET", "/", "--header", "no-colon")
    assert result.code == 2
    assert result.err.startswith("error: INVALID_ARGUMENT:")


def test_calls_before_pairing_exit_3_with_not_paired(state_path):
    result = run_cli(state_path, "request", "GET", "/")
    assert result.code == 3
    assert result.err.startswith("error: NOT_PAIRED:")
    assert run_cli(state_path, "forget", "home").code == 3


def test_leaving_out_server_with_several_paired_is_a_usage_error(state_path):
    with StateFile(state_path).edit() as state:
        state.ensure_static_key()
        state.servers["home"] = server("home")
        state.servers["cabin"] = server("cabin")
    result = run_cli(state_path, "sse", "/events")
    assert result.code == 2
    assert "error: SERVER_AMBIGUOUS:" in result.err


def test_a_corrupt_state_file_exits_3_and_names_the_file(state_path):
    state_path.write_text("{oops")
    result = run_cli(state_path, "servers")
    assert result.code == 3
    assert "error: STATE_INVALID:" in result.err and str(state_path) in result.err
    assert state_path.read_text() == "{oops"


def test_servers_lists_everything_but_secrets_and_forget_removes(state_path):
    entry = server("home")
    with StateFile(state_path).edit() as state:
        key = state.ensure_static_key()
        state.servers["home"] = entry
    result = run_cli(state_path, "servers")
    assert result.code == 0
    listing = result.out.decode() + result.err
    assert "home" in listing and entry.instance_id in listing and entry.fingerprint in listing
    for secret in (key, entry.device_psk):
        assert secret.hex() not in listing
    for secret in (key, entry.device_psk):
        assert base64.urlsafe_b64encode(secret).decode().rstrip("=") not in listing
    forgot = run_cli(state_path, "forget", "home")
    assert forgot.code == 0 and "revoke" in forgot.err
    assert StateFile(state_path).load().servers == {}


def test_an_open_state_file_gets_a_warning(state_path):
    with StateFile(state_path).edit() as state:
        state.ensure_static_key()
    os.chmod(state_path, 0o644)
    assert "warning:" in run_cli(state_path, "servers").err


def test_header_options_are_split_at_the_first_colon():
    assert parse_headers(["X-A: 1", "b:c:d"]) == [("x-a", "1"), ("b", "c:d")]


def test_events_print_in_event_stream_form_or_as_json():
    event = SSEEvent("tick", "a\nb", "3")
    assert format_event(event) == "event: tick\nid: 3\ndata: a\ndata: b\n\n"
    assert format_event(event, as_json=True) == '{"event": "tick", "data": "a\\nb", "id": "3"}\n'
