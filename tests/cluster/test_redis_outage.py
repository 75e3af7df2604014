"""Redis away for 5 s behind the balancer: /readyz says not ready, a channel that needs Redis
gets ROUTING_UNAVAILABLE, channels inside one worker keep working (open ones and new ones),
and everything recovers without restarting a process."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from relayproto.frames import ErrorCode, FrameType
from tests.cluster.phones import call, connect_elsewhere, worker_holding_instance

pytestmark = pytest.mark.slow

OUTAGE = 5.0


def readiness(cluster) -> list[int]:
    """Each worker's /readyz status code."""
    return [httpx.get(f"{w.http_url}/readyz", timeout=5).status_code for w in cluster.workers]


async def test_redis_away_for_five_seconds(cluster, phones):
    running = await asyncio.to_thread(cluster)
    streaming, caller = await phones(running, 2)
    holder = worker_holding_instance(running)
    pids = [w.process.pid for w in running.workers] + [running.instance.worker.process.pid]
    frame, _ = await connect_elsewhere(running, holder, 1, caller)
    assert frame.type is FrameType.CONNECT_ACK  # cross-worker routing works before

    events = await streaming.sse("home", "/api/monitor/stream?interval=0.2")
    received: list[float] = []

    async def read_events():
        async for _event in events:
            received.append(time.monotonic())

    reader = asyncio.create_task(read_events())
    await asyncio.sleep(0.5)

    running.redis.go_away()
    down_at = time.monotonic()
    deadline = down_at + OUTAGE - 1
    while time.monotonic() < deadline:
        if set(await asyncio.to_thread(readiness, running)) == {503}:
            break
        await asyncio.sleep(0.2)
    assert set(await asyncio.to_thread(readiness, running)) == {503}
    body = httpx.get(f"{running.workers[0].http_url}/readyz", timeout=5).json()
    assert body["status"] == "unavailable" and body["problem"]

    # The balancer keeps every worker in (its checks ask ?balancer=1: degraded, not down), so
    # a new socket through it still lands on the instance's worker and its channel opens there.
    for worker in running.workers:
        check = httpx.get(f"{worker.http_url}/readyz?balancer=1", timeout=5)
        assert check.status_code == 200 and check.json()["status"] == "degraded"
    await caller.connections.close()
    assert await call(caller) == 200
    frame, error = await connect_elsewhere(running, holder, 2, caller)
    assert frame.type is FrameType.ERROR and error.code == ErrorCode.ROUTING_UNAVAILABLE
    assert error.retry_after and error.ref == 2

    await asyncio.sleep(max(0.0, down_at + OUTAGE - time.monotonic()))
    running.redis.come_back()
    up_at = time.monotonic()
    while time.monotonic() - up_at < 20:
        if set(await asyncio.to_thread(readiness, running)) == {200}:
            break
        await asyncio.sleep(0.2)
    assert set(await asyncio.to_thread(readiness, running)) == {200}
    ready_after = time.monotonic() - up_at

    routed = None
    while time.monotonic() - up_at < 20:
        frame, _ = await connect_elsewhere(running, holder, 3, caller)
        if frame.type is FrameType.CONNECT_ACK:
            routed = time.monotonic() - up_at
            break
        await asyncio.sleep(0.5)
    assert routed is not None, "cross-worker routing never came back"
    assert await call(caller) == 200
    assert [w.process.pid for w in running.workers] + [running.instance.worker.process.pid] == pids
    assert all(w.alive() for w in running.workers)
    events_during = len([t for t in received if down_at < t < up_at])
    reader.cancel()
    await events.aclose()
    print(
        f"{events_during} SSE events during the outage; ready {ready_after:.1f} s and routing "
        f"across workers {routed:.1f} s after Redis came back"
    )
    assert events_during >= 20  # the open stream kept flowing (one event per 0.2 s)
