"""A phone that grants credit and never reads, held for 60 s against a real daphne worker
while another phone of the same instance streams: the worker's memory stays bounded, the
other stream goes on, and the stuck phone is closed with OUTPUT_STALLED after the stall
timeout (30 s)."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import httpx
import pytest
import websockets

from relay import operator
from relayproto import licence
from relayproto.control import Connect, Register, encode_control
from relayproto.frames import (
    WS_CLOSE_CODES,
    ErrorCode,
    FrameType,
    decode_frame,
    encode_credit,
    encode_frame,
)
from tests.relay.relay_client import SocketClient

pytestmark = pytest.mark.slow

BLOCK = b"x" * (256 * 1024 - 12)
HOLD = 60
BOUND_MIB = 48  # what the worker may grow by; docs/operations.md explains the figure


def rss_mib(pid: int) -> float:
    match = re.search(r"^VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text(), re.M)
    assert match
    return int(match.group(1)) / 1024


async def open_phone(url: str, **kwargs):
    ws = await websockets.connect(url, max_size=2 << 20, compression=None, **kwargs)
    await ws.send(encode_control(Connect(ref=1, instance_id="home-1")))
    return ws, decode_frame(await ws.recv()).channel_id


async def test_a_stuck_reader_is_bounded_and_closed_while_another_phone_streams(
    daphne_workers, tmp_path
):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    key = operator.generate(data)
    (worker,) = daphne_workers(1, env={"PULSE_ROLES": "relay"})
    token = licence.issue(key, name="home", days=1, instance_id="home-1")
    instance = SocketClient(
        await websockets.connect(f"{worker.ws_url}/ws/instance", max_size=2 << 20, compression=None)
    )
    await instance.send(encode_control(Register(licence=token, client="tests/1")))
    await instance.recv()
    url = f"{worker.ws_url}/ws/app"
    stuck_ws, stuck_cid = await open_phone(url, max_queue=1)  # it will stop reading
    good = SocketClient((await open_phone(url))[0])
    good_cid = None
    credit = {}
    waiting = {}
    for _ in range(2):
        opened = await instance.recv()
        assert opened.type is FrameType.OPEN
        credit[opened.channel_id] = 4 << 20
        waiting[opened.channel_id] = asyncio.Event()
    good_cid = next(c for c in credit if c != stuck_cid)

    async def read_instance():
        while True:
            frame = await instance.recv(timeout=120)
            if frame.type is FrameType.CREDIT:
                credit[frame.channel_id] += int.from_bytes(bytes(frame.payload), "big")
                waiting[frame.channel_id].set()

    async def pump(cid):
        while True:
            if credit[cid] < len(BLOCK):
                waiting[cid].clear()
                await waiting[cid].wait()
                continue
            credit[cid] -= len(BLOCK)
            await instance.send(encode_frame(FrameType.DATA, cid, BLOCK))

    async def fake_credit():
        while True:
            await stuck_ws.send(encode_credit(stuck_cid, 1 << 20))
            await asyncio.sleep(0.005)

    received = [0]

    async def read_good():
        while True:
            frame = await good.recv(timeout=120)
            if frame.type is FrameType.DATA:
                received[0] += len(frame.payload)
                await good.send(encode_credit(good_cid, len(frame.payload)))

    tasks = [
        asyncio.create_task(c)
        for c in (read_instance(), pump(stuck_cid), pump(good_cid), fake_credit(), read_good())
    ]
    base = rss_mib(worker.process.pid)
    peak, started, last, stalled_gaps = base, time.monotonic(), 0, 0
    closed_at = None
    try:
        while time.monotonic() - started < HOLD:
            await asyncio.sleep(2)
            peak = max(peak, rss_mib(worker.process.pid))
            stalled_gaps += received[0] == last
            last = received[0]
            if closed_at is None and stuck_ws.close_code is not None:
                closed_at = time.monotonic() - started
    finally:
        for task in tasks:
            task.cancel()
        # A send parked on a full socket may not wake for the cancel: drop the connections
        # under them, and never wait long (the measurement is done).
        for ws in (stuck_ws, good.ws, instance.ws):
            ws.transport.abort()
        await asyncio.wait(tasks, timeout=10)
    print(
        f"RSS {base:.0f} → peak {peak:.0f} MiB over {HOLD} s; good phone got "
        f"{received[0] >> 20} MiB; stuck phone closed after {closed_at} s "
        f"with {stuck_ws.close_code}"
    )
    assert peak - base < BOUND_MIB
    assert stalled_gaps == 0, "the other phone's stream stopped"
    # It never read, so it cannot see the close frame: the relay closes with OUTPUT_STALLED
    # and then drops the connection, which the stuck side sees as 1006.
    assert stuck_ws.close_code in (WS_CLOSE_CODES[ErrorCode.OUTPUT_STALLED], 1006)
    assert closed_at is not None and closed_at < 40
    metrics = httpx.get(f"{worker.http_url}/metrics", timeout=5).text
    assert 'relay_closes_total{reason="OUTPUT_STALLED",what="socket"} 1.0' in metrics
    assert 'relay_limits_hit_total{limit="output"} 1.0' in metrics
