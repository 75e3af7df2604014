"""Restart the three workers one after the other (drain, stop, start) while every phone sends
a request every 200 ms: no request is lost without a clear error, and every phone works at the
end. The instance follows each DRAIN to another worker."""

from __future__ import annotations

import asyncio
import collections
import time

import httpx
import pytest

from relayclient import ClientError
from tests.cluster.phones import call, works_within

pytestmark = pytest.mark.slow

PHONES = 4
INTERVAL = 0.2


async def keep_calling(client, stop: asyncio.Event, outcomes: collections.Counter, errors: list):
    """One request every 200 ms until ``stop``; count what happened to each."""
    while not stop.is_set():
        started = time.monotonic()
        try:
            status = await asyncio.wait_for(call(client), 30)
            outcomes[f"HTTP {status}"] += 1
        except ClientError as exc:  # a clear error: a stable code and what to do
            outcomes[exc.code] += 1
            errors.append(str(exc))
        except Exception as exc:  # anything else is a request lost without a clear error
            outcomes["UNCLEAR"] += 1
            errors.append(f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(max(0.0, INTERVAL - (time.monotonic() - started)))


def wait_balancer_sees(cluster, index: int, timeout: float = 15.0) -> None:
    """Until HAProxy sends requests to the restarted worker again (its checks rose)."""
    deadline = time.monotonic() + timeout
    port = cluster.workers[index].port
    while time.monotonic() < deadline:
        # The worker's own metrics count requests; a round of /readyz through the balancer
        # reaches every worker that is up.
        for _ in range(6):
            httpx.get(f"{cluster.proxy.http_url}/readyz", timeout=2)
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
        if "relay_worker_info" in text and _served_by_balancer(cluster, index):
            return
        time.sleep(0.3)
    raise AssertionError(f"HAProxy never brought worker {index + 1} back")


def _served_by_balancer(cluster, index: int) -> bool:
    log = cluster.proxy.logs()
    return f"Server relay_workers/w{index + 1} is UP" in log.rsplit("is DOWN", 1)[-1]


async def test_restart_every_worker_in_turn_while_phones_keep_calling(cluster, phones):
    running = await asyncio.to_thread(cluster)
    clients = await phones(running, PHONES)
    stop = asyncio.Event()
    outcomes: collections.Counter = collections.Counter()
    errors: list[str] = []
    callers = [
        asyncio.create_task(keep_calling(client, stop, outcomes, errors)) for client in clients
    ]
    timeline = []
    try:
        await asyncio.sleep(1.0)
        for index in range(len(running.workers)):
            started = time.monotonic()
            code = await asyncio.to_thread(running.stop_worker, index)
            stopped = time.monotonic()
            await asyncio.to_thread(running.start_worker, index)
            await asyncio.to_thread(wait_balancer_sees, running, index)
            timeline.append((index + 1, code, round(stopped - started, 1)))
            await asyncio.sleep(1.0)
    finally:
        stop.set()
        await asyncio.gather(*callers)
    print(f"workers (index, exit code, seconds to drain and exit): {timeline}")
    print(f"outcomes: {dict(outcomes)}")
    for line in sorted(set(errors)):
        print(f"  error: {line}")
    assert outcomes["UNCLEAR"] == 0, errors
    # The errors that may happen while an instance moves say so; none says something false.
    assert set(outcomes) <= {"HTTP 200", "INSTANCE_OFFLINE", "CHANNEL_LOST"}, errors
    assert all(code == 0 for _, code, _ in timeline), timeline
    assert outcomes["HTTP 200"] > PHONES * 20
    for client in clients:
        await works_within(client, 15)
    status = await asyncio.to_thread(running.instance.wait_registered, 15)
    assert status["registered"]
