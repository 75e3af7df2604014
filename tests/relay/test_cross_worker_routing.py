"""Real daphne workers sharing Redis route channels between each other, and fail cleanly."""

import asyncio
import hashlib
import signal
import time

import httpx
import pytest

from relay import operator
from relayproto import licence
from relayproto.control import Connect, Drain, encode_control
from relayproto.frames import ErrorCode, FrameType, encode_credit
from tests.relay.relay_client import SocketClient, data_frame, register_over_socket

pytestmark = pytest.mark.slow

CHUNK = 256 * 1024
TOTAL = 50 * 1024 * 1024


@pytest.fixture
def relay_workers(daphne_workers, tmp_path):
    """Start N relay-only workers that trust one operator key; returns (workers, licence)."""

    def start(count: int = 2, server: str = "daphne", **env):
        data_dir = tmp_path / "data"
        data_dir.mkdir(mode=0o700, exist_ok=True)
        if operator.key_paths(data_dir)[0].exists():
            key = operator.load_private_key(operator.key_paths(data_dir)[0])
        else:
            key = operator.generate(data_dir)
        token = licence.issue(key, name="home", days=1, instance_id="home-1")
        workers = daphne_workers(
            count,
            env={"PULSE_ROLES": "relay", "PULSE_RELAY_HANDSHAKE_TIMEOUT": "30", **env},
            server=server,
        )
        return workers, token

    return start


async def connect_app(url: str, instance_id: str = "home-1"):
    app = await SocketClient.open(url)
    await app.send(encode_control(Connect(ref=1, instance_id=instance_id)))
    frame, ack = await app.recv_control()
    assert frame.type is FrameType.CONNECT_ACK, ack
    return app, frame.channel_id


def pattern(index: int) -> bytes:
    """Deterministic, index-dependent bytes so reordering or loss changes the digest."""
    seed = hashlib.sha256(index.to_bytes(8, "big")).digest()
    return seed * (CHUNK // len(seed))


async def pump(sender: SocketClient, receiver: SocketClient, cid: int, window: int) -> None:
    """Send TOTAL bytes with credit flow control; check order and content at the far end."""
    expected, received = hashlib.sha256(), hashlib.sha256()
    count = TOTAL // CHUNK

    async def send_all():
        in_flight = 0
        sent = 0
        while sent < count or in_flight:  # finish when everything sent has been credited
            if sent < count and in_flight + CHUNK <= window:
                payload = pattern(sent)
                expected.update(payload)
                await sender.send(data_frame(cid, payload))
                in_flight += CHUNK
                sent += 1
                continue
            frame = await sender.recv(timeout=30)
            assert frame.type is FrameType.CREDIT, frame
            in_flight -= int.from_bytes(frame.payload, "big")

    async def receive_all():
        got = 0
        while got < TOTAL:
            frame = await receiver.recv(timeout=30)
            assert frame.type is FrameType.DATA and frame.channel_id == cid
            received.update(frame.payload)
            got += len(frame.payload)
            await receiver.send(encode_credit(cid, len(frame.payload)))

    await asyncio.gather(send_all(), receive_all())
    assert received.digest() == expected.digest()


async def test_50_mib_cross_workers_intact_and_in_order_both_ways(relay_workers):
    (worker_a, worker_b), token = relay_workers(2)
    instance, ack = await register_over_socket(f"{worker_a.ws_url}/ws/instance", token)
    window = ack.limits.window
    app, cid = await connect_app(f"{worker_b.ws_url}/ws/app")
    assert (await instance.recv()).type is FrameType.OPEN
    started = time.monotonic()
    await pump(app, instance, cid, window)
    await pump(instance, app, cid, window)
    elapsed = time.monotonic() - started
    print(f"100 MiB across two daphne workers through Redis in {elapsed:.1f} s")
    metrics = httpx.get(f"{worker_b.http_url}/metrics").text
    assert 'relay_deliveries_total{path="cross_worker"}' in metrics
    bytes_line = next(
        line
        for line in metrics.splitlines()
        if line.startswith(
            'relay_bytes_forwarded_total{direction="app_to_instance",path="cross_worker"}'
        )
    )
    assert float(bytes_line.split()[-1]) >= TOTAL
    await app.close()
    await instance.close()


async def test_app_for_an_instance_on_no_worker_is_instance_offline(relay_workers):
    (worker_a, _), _token = relay_workers(2)
    app = await SocketClient.open(f"{worker_a.ws_url}/ws/app")
    await app.send(encode_control(Connect(ref=9, instance_id="home-1")))
    _, error = await app.recv_control()
    assert error.code == ErrorCode.INSTANCE_OFFLINE and error.ref == 9
    await app.close()


async def test_duplicate_registration_on_another_worker_closes_the_older(relay_workers):
    (worker_a, worker_b), token = relay_workers(2)
    older, _ = await register_over_socket(f"{worker_a.ws_url}/ws/instance", token)
    newer, _ = await register_over_socket(f"{worker_b.ws_url}/ws/instance", token)
    _, error = await older.recv_control()
    assert error.code == ErrorCode.DUPLICATE_INSTANCE
    app, _cid = await connect_app(f"{worker_a.ws_url}/ws/app")
    assert (await newer.recv()).type is FrameType.OPEN
    await app.close()
    await newer.close()


async def test_sigkill_of_the_app_worker_closes_the_channel_at_the_instance(relay_workers):
    (worker_a, worker_b), token = relay_workers(2)
    instance, _ = await register_over_socket(f"{worker_a.ws_url}/ws/instance", token)
    _app, cid = await connect_app(f"{worker_b.ws_url}/ws/app")
    assert (await instance.recv()).type is FrameType.OPEN
    killed_at = time.monotonic()
    worker_b.signal(signal.SIGKILL)
    frame, close = await instance.recv_control(timeout=20)
    noticed = time.monotonic() - killed_at
    assert frame.type is FrameType.CLOSE and frame.channel_id == cid
    assert close.code == "PEER_GONE"
    assert noticed < 15, f"took {noticed:.1f} s"
    await instance.close()


async def test_sigkill_of_the_instance_worker_closes_the_channel_at_the_app(relay_workers):
    (worker_a, worker_b), token = relay_workers(2)
    await register_over_socket(f"{worker_a.ws_url}/ws/instance", token)
    app, cid = await connect_app(f"{worker_b.ws_url}/ws/app")
    worker_a.signal(signal.SIGKILL)
    frame, close = await app.recv_control(timeout=20)
    assert frame.type is FrameType.CLOSE and frame.channel_id == cid
    assert close.code == "PEER_GONE"
    await app.close()


async def test_sigterm_sends_drain_before_closing(relay_workers):
    (worker_a,), token = relay_workers(1, PULSE_RELAY_DRAIN_GRACE="2")
    instance, _ = await register_over_socket(f"{worker_a.ws_url}/ws/instance", token)
    worker_a.signal(signal.SIGTERM)
    frame, drain = await instance.recv_control(timeout=10)
    assert frame.type is FrameType.DRAIN and isinstance(drain, Drain)
    assert worker_a.process.wait(timeout=20) is not None


async def test_uvicorn_and_daphne_workers_route_to_each_other(relay_workers):
    (daphne_worker,), token = relay_workers(1)
    (uvicorn_worker,), _ = relay_workers(1, server="uvicorn")
    instance, _ack = await register_over_socket(f"{uvicorn_worker.ws_url}/ws/instance", token)
    app, cid = await connect_app(f"{daphne_worker.ws_url}/ws/app")
    assert (await instance.recv()).type is FrameType.OPEN
    await app.send(data_frame(cid, b"through daphne"))
    assert bytes((await instance.recv()).payload) == b"through daphne"
    await instance.send(data_frame(cid, b"through uvicorn"))
    assert bytes((await app.recv()).payload) == b"through uvicorn"
    await app.close()
    await instance.close()


async def test_sigterm_drains_a_uvicorn_worker_too(relay_workers):
    (worker,), token = relay_workers(1, server="uvicorn", PULSE_RELAY_DRAIN_GRACE="2")
    instance, _ = await register_over_socket(f"{worker.ws_url}/ws/instance", token)
    worker.signal(signal.SIGTERM)
    frame, drain = await instance.recv_control(timeout=10)
    assert frame.type is FrameType.DRAIN and isinstance(drain, Drain)
    assert worker.process.wait(timeout=20) is not None


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
async def test_the_largest_frame_the_relay_announces_crosses_a_real_server(relay_workers, server):
    (worker,), token = relay_workers(1, server=server)
    instance, ack = await register_over_socket(f"{worker.ws_url}/ws/instance", token)
    app, cid = await connect_app(f"{worker.ws_url}/ws/app")
    assert (await instance.recv()).type is FrameType.OPEN
    payload = b"m" * ack.limits.max_frame
    await app.send(data_frame(cid, payload))
    frame = await instance.recv()
    assert frame.type is FrameType.DATA and len(frame.payload) == ack.limits.max_frame
    await app.close()
    await instance.close()
