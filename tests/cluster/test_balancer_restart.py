"""HAProxy restarted: every socket through it drops; the instance and every phone come back by
themselves within 15 s, and the instance keeps its devices."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.cluster.phones import works_within

pytestmark = pytest.mark.slow


async def test_instance_and_phones_work_again_after_the_balancer_restarts(cluster, phones):
    running = await asyncio.to_thread(cluster)
    clients = await phones(running, 3)
    devices = running.instance.api("GET", "devices").json()
    started = time.monotonic()
    await asyncio.to_thread(running.restart_balancer)
    await asyncio.gather(*(works_within(client, 15) for client in clients))
    recovered = time.monotonic() - started
    assert (await asyncio.to_thread(running.instance.wait_registered, 15))["registered"]
    assert running.instance.api("GET", "devices").json() == devices
    print(f"all phones working {recovered:.1f} s after the balancer restart began")
    assert recovered < 15
