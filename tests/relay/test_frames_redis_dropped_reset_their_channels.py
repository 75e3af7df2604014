"""A worker's inbox in Redis is bounded (Redis's pub/sub output-buffer limit) and what Redis
drops is never lost silently: the channels that may have lost frames are reset with
RELAY_OVERLOADED at both ends, /metrics counts each reset, and the workers go on routing.

Real daphne workers and a Redis of the test's own with a small pub/sub limit. The instance's
worker is paused (SIGSTOP, as a worker starved of CPU would be) while phones on the other
worker send whole windows, so Redis cuts off its subscription with what it held. (The bound on
what a worker holds in its own memory is tests/relay/test_inbox_capacity.py.)
"""

from __future__ import annotations

import asyncio
import hashlib
import signal
import time

import httpx
import pytest

from relay import operator
from relayproto import licence
from relayproto.control import Connect, decode_control, encode_control
from relayproto.frames import ErrorCode, FrameType
from tests.relay.relay_client import SocketClient, data_frame, register_over_socket

pytestmark = pytest.mark.slow

CHANNELS = 6
FRAME = 512 * 1024
WINDOW = 4 << 20  # the default window: each phone sends exactly what it may without credit


def payload(channel: int, index: int) -> bytes:
    """Bytes that differ per channel and position, so loss or reordering shows."""
    seed = hashlib.sha256(f"{channel}:{index}".encode()).digest()
    return seed * (FRAME // len(seed))


def metric(worker, name: str) -> float:
    """A metric's value on one worker (0 when absent)."""
    for line in httpx.get(f"{worker.http_url}/metrics", timeout=10).text.splitlines():
        series, _, value = line.rpartition(" ")
        if series == name:
            return float(value)
    return 0.0


async def wait_for(condition, timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


@pytest.fixture
def two_workers(daphne_workers, private_redis, tmp_path):
    """Two relay workers on a private Redis, an instance licence; returns (a, b, token, redis)."""

    def start(server_b: str = "daphne", **env):
        data_dir = tmp_path / "data"
        data_dir.mkdir(mode=0o700, exist_ok=True)
        key = operator.generate(data_dir)
        start.key = key
        token = licence.issue(key, name="home", days=1, instance_id="home-1")
        env = {"PULSE_ROLES": "relay", "PULSE_RELAY_HANDSHAKE_TIMEOUT": "60", **env}
        (worker_a,) = daphne_workers(1, redis=private_redis, env=env)
        (worker_b,) = daphne_workers(1, redis=private_redis, env=env, server=server_b)
        return worker_a, worker_b, token, private_redis

    return start


async def open_channels(app_worker, count: int, instance_id: str = "home-1"):
    """``count`` phones on ``app_worker``, each with one channel to the instance."""
    phones = []
    for n in range(count):
        app = await SocketClient.open(f"{app_worker.ws_url}/ws/app")
        await app.send(encode_control(Connect(ref=n + 1, instance_id=instance_id)))
        frame, ack = await app.recv_control()
        assert frame.type is FrameType.CONNECT_ACK, ack
        phones.append((app, frame.channel_id))
    return phones


async def burst_while_paused(worker_a, worker_b, phones) -> None:
    """Pause the instance's worker, let every phone send a whole window, resume it."""
    worker_b.signal(signal.SIGSTOP)
    try:
        await send_windows(phones)
        sent = len(phones) * WINDOW
        name = 'relay_bytes_forwarded_total{direction="app_to_instance",path="cross_worker"}'
        await wait_for(lambda: metric(worker_a, name) >= sent, 30, "worker A to forward it all")
        await asyncio.sleep(0.5)  # Redis has it all in worker B's subscription buffer
    finally:
        worker_b.signal(signal.SIGCONT)


async def collect(instance, phones, timeout: float = 30) -> tuple[dict, dict]:
    """What the instance got per channel (bytes) and which channels it saw closed (code)."""
    got = {cid: bytearray() for _, cid in phones}
    closed: dict[int, str] = {}
    deadline = time.monotonic() + timeout
    while any(len(got[cid]) < WINDOW and cid not in closed for cid in got):
        frame = await instance.recv(timeout=max(0.1, deadline - time.monotonic()))
        if frame.type is FrameType.DATA:
            got[frame.channel_id] += frame.payload
        elif frame.type is FrameType.CLOSE:
            closed[frame.channel_id] = str(decode_control(frame).code)
    return got, closed


async def close_seen_by_phone(app, cid: int, timeout: float) -> str | None:
    """The CLOSE code a phone saw on its channel within ``timeout`` (None: none)."""
    try:
        frame, close = await app.recv_control(timeout=timeout)
    except TimeoutError:
        return None
    assert frame.type is FrameType.CLOSE and frame.channel_id == cid, frame
    return str(close.code)


def expected(cid: int) -> bytes:
    """Everything the phone on channel ``cid`` sent."""
    return b"".join(payload(cid, i) for i in range(WINDOW // FRAME))


async def check_outcome(worker_a, worker_b, instance, phones, reason: str) -> int:
    """Every channel either arrived whole or was reset with RELAY_OVERLOADED at both ends;
    worker B counted each reset under ``reason``; returns how many were reset."""
    got, closed = await collect(instance, phones)
    resets = {cid for cid, code in closed.items() if code == ErrorCode.RELAY_OVERLOADED}
    assert set(closed) == resets, closed
    for app, cid in phones:
        data = bytes(got[cid])
        if cid in resets:
            assert expected(cid).startswith(data), f"channel {cid}: what arrived is not a prefix"
            assert await close_seen_by_phone(app, cid, 10) == ErrorCode.RELAY_OVERLOADED
        else:
            assert data == expected(cid), f"channel {cid}: {len(data)} bytes, not intact"
            assert await close_seen_by_phone(app, cid, 0.3) is None
    counted = metric(worker_b, f'relay_inbox_resets_total{{reason="{reason}"}}')
    assert counted == len(resets), (counted, len(resets))
    print(f"{len(resets)} of {len(phones)} channels reset ({reason}), the rest arrived intact")
    return len(resets)


async def a_new_channel_works(worker_a, instance) -> None:
    """After the resets the workers still route: a new channel carries data both ways."""
    ((app, cid),) = await open_channels(worker_a, 1)
    frame = await instance.recv()
    assert frame.type is FrameType.OPEN and frame.channel_id == cid
    await app.send(data_frame(cid, b"after the storm"))
    assert bytes((await instance.recv()).payload) == b"after the storm"
    await instance.send(data_frame(cid, b"still here"))
    assert bytes((await app.recv()).payload) == b"still here"
    await app.close()


async def send_windows(phones) -> None:
    """Every phone sends a whole window on its channel."""
    for app, cid in phones:
        for index in range(WINDOW // FRAME):
            await app.send(data_frame(cid, payload(cid, index)))


async def test_frames_redis_dropped_reset_their_channels_instead_of_stalling(two_workers):
    worker_a, worker_b, token, redis = two_workers()
    # Redis cuts a subscriber off past 2 MiB of unread output (the default is 32 MiB): the
    # paused worker's subscription is dropped with what it held.
    redis.client().config_set("client-output-buffer-limit", "pubsub 2mb 1mb 1")
    instance, _ = await register_over_socket(f"{worker_b.ws_url}/ws/instance", token)
    phones = await open_channels(worker_a, CHANNELS)
    for _ in phones:
        assert (await instance.recv()).type is FrameType.OPEN
    await burst_while_paused(worker_a, worker_b, phones)
    resets = await check_outcome(worker_a, worker_b, instance, phones, "lost")
    assert resets >= 1
    await a_new_channel_works(worker_a, instance)
    for app, _cid in phones:
        await app.close()
    await instance.close()
