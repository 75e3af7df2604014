"""Each command run in process against the fake instance: pair, request, sse, ws."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
import qrcode

from relayclient import StateFile
from relayproto.inner import PairStatus
from tests.relayclient.cli_support import run_cli
from tests.relayclient.fake_instance import FakeInstance, FakeRelay


@pytest.fixture
def instance():
    """The home side."""
    return FakeInstance()


@pytest.fixture
def relay(instance):
    """The relay in between, minus the sockets."""
    return FakeRelay(instance)


@pytest.fixture
def state_path(tmp_path):
    """Where this test's state file lives."""
    return tmp_path / "client.json"


@pytest.fixture
def paired(state_path, instance, relay):
    """A state file paired (active) with the fake instance through the CLI."""
    result = run_cli(state_path, "pair", instance.invite().to_uri(), relay=relay)
    assert result.code == 0, result.err
    return state_path


def test_pair_prints_the_code_and_the_outcome(state_path, instance, relay):
    result = run_cli(
        state_path, "pair", instance.invite().to_uri(), "--name", "home",
        "--device-name", "cli phone", relay=relay,
    )  # fmt: skip
    assert result.code == 0
    sas = instance.sas_seen[0]
    assert f"{sas[:3]} {sas[3:]}" in result.err
    assert "'home' is active" in result.err
    assert [d.name for d in instance.devices.values()] == ["cli phone"]


def test_pair_from_a_qr_png_and_pending_approval_is_explained(
    tmp_path, state_path, instance, relay
):
    instance.pair_answer = PairStatus.PENDING
    png = tmp_path / "pair.png"
    qrcode.make(instance.invite().to_uri()).save(png)
    result = run_cli(state_path, "pair", str(png), relay=relay)
    assert result.code == 0
    assert "approve" in result.err
    denied = run_cli(state_path, "request", "GET", "/", relay=relay)
    assert denied.code == 3 and "error: DEVICE_PENDING:" in denied.err


def test_request_streams_the_body_to_stdout_and_the_status_to_stderr(paired, instance, relay):
    async def handler(stream):
        await stream.send_response(200, [("content-type", "text/plain")])
        await stream.write(b"hello ")
        await stream.write(b"world")
        await stream.end()

    instance.handler = handler
    result = run_cli(paired, "request", "GET", "/hello", "--include", relay=relay)
    assert result.code == 0
    assert result.out == b"hello world"
    assert result.err.splitlines()[:2] == ["HTTP 200 OK", "content-type: text/plain"]


def test_an_error_status_exits_1(paired, instance, relay):
    async def handler(stream):
        await stream.send_response(404, end=True)

    instance.handler = handler
    result = run_cli(paired, "request", "GET", "/missing", relay=relay)
    assert result.code == 1
    assert "HTTP 404 Not Found" in result.err


def test_upload_from_a_file_and_download_to_a_file(tmp_path, paired, instance, relay):
    async def handler(stream):
        body = await stream.read_all()
        length = dict(stream.request.headers)["content-length"]
        await stream.send_response(200)
        await stream.write(length.encode() + b":" + body[::-1])
        await stream.end()

    instance.handler = handler
    source, target = tmp_path / "in.bin", tmp_path / "out.bin"
    source.write_bytes(bytes(range(256)) * 1000)
    result = run_cli(
        paired, "request", "PUT", "/x", "--data", f"@{source}", "-o", str(target), relay=relay
    )
    assert result.code == 0 and result.out == b""
    assert target.read_bytes() == b"256000:" + source.read_bytes()[::-1]
    assert not (tmp_path / "out.bin.part").exists()


def test_a_cut_off_download_leaves_no_file(tmp_path, paired, instance, relay):
    async def handler(stream):
        await stream.send_response(200)
        await stream.write(b"partial")
        await stream.session.outer.close("PEER_GONE")

    instance.handler = handler
    target = tmp_path / "out.bin"
    result = run_cli(paired, "request", "GET", "/x", "-o", str(target), relay=relay)
    assert result.code == 3 and "error: CHANNEL_LOST:" in result.err
    assert not target.exists() and not (tmp_path / "out.bin.part").exists()


def test_upload_from_stdin_and_text(paired, instance, relay):
    async def handler(stream):
        body = await stream.read_all()
        await stream.send_response(200)
        await stream.write(body.upper())
        await stream.end()

    instance.handler = handler
    piped = run_cli(paired, "request", "POST", "/", "--data", "-", stdin=b"abc", relay=relay)
    assert piped.out == b"ABC"
    text = run_cli(paired, "request", "POST", "/", "--data", "héllo", relay=relay)
    assert text.out == "héllo".encode().upper()


def test_sse_prints_events_and_stops_at_the_limit(paired, instance, relay):
    async def endless(stream):
        await stream.send_response(200, [("content-type", "text/event-stream")])
        index = 0
        while True:
            await stream.write(f"id: {index}\ndata: tick {index}\n\n".encode())
            index += 1
            await asyncio.sleep(0.01)

    instance.handler = endless
    result = run_cli(paired, "sse", "/events", "--limit", "2", relay=relay)
    assert result.code == 0
    assert result.out == b"id: 0\ndata: tick 0\n\nid: 1\ndata: tick 1\n\n"


def test_ws_sends_stdin_lines_and_prints_the_answers(paired, instance, relay):
    async def echo(stream):
        await stream.send_response(101)
        while (message := await stream.receive_ws()) is not None:
            await stream.send_ws(message.upper() if isinstance(message, str) else message)
        await stream.close_ws(stream.ws_close.code, "bye")

    instance.handler = echo
    result = run_cli(paired, "ws", "/ws", stdin=b"hello\nworld\n", relay=relay)
    assert result.code == 0, result.err
    assert result.out == b"HELLO\nWORLD\n"
    assert "closed by the instance: 1000" in result.err


def test_an_unreachable_relay_exits_3(paired):
    with StateFile(paired).edit() as state:  # a port where nothing listens
        home = state.servers["home-1"]
        state.servers["home-1"] = dataclasses.replace(home, relay_url="ws://127.0.0.1:1")
    result = run_cli(paired, "request", "GET", "/")  # the real WebSocket factory
    assert result.code == 3
    assert result.err.startswith("error: RELAY_UNREACHABLE:")
