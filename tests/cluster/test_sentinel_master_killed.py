"""The channel layer and presence on Redis Sentinel: routing between workers works through
the master the sentinels name, and when that master is killed everything works again within
30 s, with no process restarted."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.cluster.phones import call, connect_elsewhere, worker_holding_instance
from tests.harness.sentinel import start_sentinel_group

pytestmark = pytest.mark.slow


@pytest.fixture
def sentinels():
    """A master, a replica and three sentinels of this test's own."""
    group = start_sentinel_group()
    yield group
    group.stop()


def all_ready(cluster) -> bool:
    """Every worker's /readyz is 200."""
    return all(
        httpx.get(f"{w.http_url}/readyz", timeout=5).status_code == 200 for w in cluster.workers
    )


async def test_killing_the_sentinel_master_recovers_within_30_s(cluster, phones, sentinels):
    running = await asyncio.to_thread(cluster, redis=sentinels)
    (phone,) = await phones(running, 1)
    holder = worker_holding_instance(running)
    pids = [w.process.pid for w in running.workers]
    frame, _ = await connect_elsewhere(running, holder, 1, phone)
    assert frame.type.name == "CONNECT_ACK"  # across workers, through the Sentinel master

    killed_at = time.monotonic()
    old = sentinels.kill_master()
    new = await asyncio.to_thread(sentinels.wait_for_new_master, old, 30)
    promoted = time.monotonic() - killed_at

    routed = None
    while time.monotonic() - killed_at < 30:
        frame, _ = await connect_elsewhere(running, holder, 2, phone)
        if frame.type.name == "CONNECT_ACK" and await asyncio.to_thread(all_ready, running):
            routed = time.monotonic() - killed_at
            break
        await asyncio.sleep(0.5)
    assert routed is not None, f"not recovered 30 s after the master died\n{sentinels.logs()}"
    assert await call(phone) == 200
    assert [w.process.pid for w in running.workers] == pids
    print(
        f"master {old} killed; sentinels promoted {new} after {promoted:.1f} s; routing across "
        f"workers and /readyz back after {routed:.1f} s"
    )
