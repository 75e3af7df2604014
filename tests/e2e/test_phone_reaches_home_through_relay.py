"""The user journey with real processes: pair with approval, then HTTP, SSE and WebSocket
through the relay, end to end encrypted; revocation, key substitution, replay, relay restart."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import tracemalloc

import httpx
import pytest

from relayclient import ClientError, RelayClient
from relayproto import handshake
from relayproto.connection import AppConnection
from relayproto.control import decode_control
from relayproto.frames import decode_frame
from tests.e2e.upstream_app import CHUNK, MARKER, pattern

pytestmark = pytest.mark.slow

MIB = 1 << 20


async def wait_registered(instance, timeout: float = 30.0) -> dict:
    """Poll the settings API until the connector reports a registration."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = await asyncio.to_thread(instance.status)
        if status.get("registered"):
            return status
        await asyncio.sleep(0.2)
    raise AssertionError(f"instance never registered: {status}\n{instance.worker.logs()}")


async def pair_and_approve(client: RelayClient, instance, alias: str) -> str:
    """Pair from the onboarding deep link, then approve with the code the phone showed."""
    await wait_registered(instance)
    link = await asyncio.to_thread(instance.api, "POST", "onboarding/deep-link")
    assert link.status_code in (200, 201), link.text
    outcome = await client.pair(link.json()["deep_link"], name=alias, device_name="Ann's phone")
    assert outcome.status == "pending"
    devices = (await asyncio.to_thread(instance.api, "GET", "devices")).json()
    devices = devices.get("results", devices) if isinstance(devices, dict) else devices
    (pending,) = [d for d in devices if d["status"] == "pending"]
    approved = await asyncio.to_thread(
        instance.api, "POST", f"devices/{pending['id']}/approve", json={"code": outcome.sas}
    )
    assert approved.status_code == 200, approved.text
    return str(pending["id"])


@pytest.fixture
async def home(deployment, tmp_path):
    """One instance in front of the upstream service, and a paired, approved phone."""
    instance = deployment.start_instance(upstream_url=deployment.upstream.http_url)
    client = RelayClient(tmp_path / "phone.json")
    device_id = await pair_and_approve(client, instance, "home")
    yield deployment, instance, client, device_id
    await client.aclose()


async def test_get_post_download_sse_and_websocket_through_the_relay(home):
    deployment, instance, client, device_id = home

    response = await client.request("home", "GET", "/headers", headers=[("cookie", "x=1")])
    assert response.status == 200
    seen = json.loads(await response.read())
    assert seen["x-pulse-device-id"] == device_id
    assert "cookie" not in seen and "authorization" not in seen

    upload = bytes(range(256)) * (20 * MIB // 256)
    response = await client.request("home", "POST", "/upload", body=upload)
    assert json.loads(await response.read()) == {
        "size": len(upload),
        "sha256": hashlib.sha256(upload).hexdigest(),
    }

    rss_before = rss_kib(instance.worker.process.pid)
    tracemalloc.start()
    digest, expected, index = hashlib.sha256(), hashlib.sha256(), 0
    response = await client.request("home", "GET", f"/download?size={200 * MIB}")
    async for chunk in response.iter_bytes():
        digest.update(chunk)
    _, client_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    for index in range(200 * MIB // CHUNK):
        expected.update(pattern(index))
    assert digest.digest() == expected.digest()
    instance_growth = peak_rss_kib(instance.worker.process.pid) - rss_before
    print(f"200 MiB download: client peak {client_peak / MIB:.1f} MiB (tracemalloc), "
          f"instance peak RSS growth {instance_growth / 1024:.1f} MiB")  # fmt: skip
    assert client_peak < 32 * MIB
    assert instance_growth < 100 * 1024

    events = await client.sse("home", "/events?count=100")
    received = 0
    async for event in events:
        assert event.data == str(received)
        received += 1
        # The upstream produces event n+1 only after this acknowledgement.
        await asyncio.to_thread(
            httpx.post, f"{deployment.upstream.http_url}/ack?i={event.id}", timeout=10
        )
        if received == 100:
            break
    await events.aclose()
    assert received == 100

    socket = await client.websocket("home", "/ws")
    await socket.send("hello")
    await socket.send(b"\x00\x01" * 40000)
    assert await socket.receive() == "hello"
    assert await socket.receive() == b"\x00\x01" * 40000
    await socket.send("close:4321")
    assert await socket.receive() is None
    assert socket.close_code == 4321

    marker = await client.request("home", "GET", "/marker")
    assert await marker.read() == MARKER
    assert deployment.proxy.bytes_seen > 200 * MIB
    assert not deployment.proxy.found, "the relay's traffic contained upstream plaintext"


async def test_two_servers_paired_at_once(deployment, tmp_path):
    first = deployment.start_instance(upstream_url=deployment.upstream.http_url)
    second = deployment.start_instance()  # serves its own Django app in process
    client = RelayClient(tmp_path / "phone.json")
    await pair_and_approve(client, first, "first")
    await pair_and_approve(client, second, "second")
    assert {s.alias for s in client.servers()} == {"first", "second"}
    marker = await client.request("first", "GET", "/marker")
    assert await marker.read() == MARKER
    sample = await client.request("second", "GET", "/api/monitor/sample")
    assert sample.status == 200 and "uptime" in (await sample.read()).decode()
    await client.aclose()


async def test_revoked_device_gets_the_revoked_error(home):
    _deployment, instance, client, device_id = home
    assert (await client.request("home", "GET", "/marker")).status == 200
    revoked = await asyncio.to_thread(instance.api, "DELETE", f"devices/{device_id}")
    assert revoked.status_code in (200, 204)
    with pytest.raises(ClientError) as caught:
        await client.request("home", "GET", "/marker")
    assert caught.value.code in ("UNKNOWN_DEVICE", "DEVICE_REVOKED")


async def test_client_refuses_an_instance_key_it_did_not_pin(home, tmp_path):
    _deployment, _instance, client, _ = home
    assert (await client.request("home", "GET", "/marker")).status == 200  # approved: active
    state = json.loads((tmp_path / "phone.json").read_text())
    # What a relay substituting its own key amounts to: the pinned key no longer matches.
    impostor = handshake.public_key(handshake.generate_static_key())
    import base64

    state["servers"]["home"]["instance_public_key"] = (
        base64.urlsafe_b64encode(impostor).rstrip(b"=").decode()
    )
    (tmp_path / "phone.json").write_text(json.dumps(state))
    fresh = RelayClient(tmp_path / "phone.json")
    with pytest.raises(ClientError) as caught:
        await fresh.request("home", "GET", "/marker")
    assert caught.value.code in ("INSTANCE_KEY_MISMATCH", "UNKNOWN_DEVICE")
    await fresh.aclose()


async def test_replayed_handshake_message_is_refused(home):
    deployment, _instance, client, _ = home
    server = client.server("home")
    captured: list[bytes] = []
    original = AppConnection.send_frame

    async def recording(self, data):
        captured.append(bytes(data))
        await original(self, data)

    AppConnection.send_frame = recording
    try:
        assert (await client.request("home", "GET", "/marker")).status == 200
    finally:
        AppConnection.send_frame = original
    message1 = next(frame for frame in captured if frame[1] == 0x10)  # the first DATA frame
    # Whoever sees the relay's traffic also sees the routing token in CONNECT: use it too.
    connect = decode_control(decode_frame(next(f for f in captured if f[1] == 0x03)))
    attacker = await AppConnection.connect(f"{deployment.relay_url}/ws/app")
    outer = await attacker.open_channel(server.instance_id, routing_token=connect.routing_token)
    await outer.send_data(message1[12:])
    with pytest.raises(Exception) as caught:
        await asyncio.wait_for(outer.recv_data(), 10)
    assert "HANDSHAKE_TIMEOUT" in str(caught.value)
    await attacker.close()


async def test_relay_restart_the_connector_and_client_come_back(home):
    deployment, instance, client, _ = home
    assert (await client.request("home", "GET", "/marker")).status == 200
    deployment.relay.stop()
    deployment.proxy.cut_all()
    replacement = deployment.start_relay()
    deployment.proxy.target_port = replacement.port
    await wait_registered(instance, timeout=60)
    for _ in range(20):
        try:
            response = await client.request("home", "GET", "/marker")
            break
        except ClientError:
            await asyncio.sleep(0.5)
    assert await response.read() == MARKER


def rss_kib(pid: int) -> int:
    """Resident set size of a process, KiB."""
    return _status_field(pid, "VmRSS")


def peak_rss_kib(pid: int) -> int:
    """Peak resident set size of a process, KiB."""
    return _status_field(pid, "VmHWM")


def _status_field(pid: int, name: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise KeyError(name)


async def test_a_relay_that_puts_an_impostor_in_place_of_the_instance_is_refused(home):
    """The relay operator can sign a licence for the instance's id and answer in its place;
    whatever the impostor answers, the phone's pinned key makes the handshake fail."""
    import os

    from relayproto import licence
    from relayproto.connection import InstanceConnection

    deployment, instance, client, _ = home
    assert (await client.request("home", "GET", "/marker")).status == 200
    server = client.server("home")
    # Keep the real instance away, so it does not win its registration back mid-test.
    disabled = await asyncio.to_thread(
        instance.api, "PUT", "settings/relay", json={"enabled": False}
    )
    assert disabled.status_code == 200, disabled.text

    async def impostor_answers(outer, _opened):
        await outer.recv_data()  # message 1: encrypted to the real instance's key
        await outer.send_data(os.urandom(50))  # the best an impostor can do: a forged message 2

    impostor = await InstanceConnection.connect(
        f"{deployment.relay_url}/ws/instance", impostor_answers
    )
    token = licence.issue(
        deployment.operator_key, name="impostor", days=1, instance_id=server.instance_id
    )
    await impostor.register(token, "impostor/1")
    with pytest.raises(ClientError) as caught:
        await client.request("home", "GET", "/marker")
    assert caught.value.code == "INSTANCE_KEY_MISMATCH"
    await impostor.close()
