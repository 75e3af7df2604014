"""At start a relay worker reads Redis's pub/sub output-buffer limit: below what 16
cross-worker windows need, it warns and says how to raise it; /metrics shows the limit."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
import websockets

pytestmark = pytest.mark.slow


async def start_and_touch(daphne_workers, private_redis):
    (worker,) = daphne_workers(1, redis=private_redis, env={"PULSE_ROLES": "relay"})
    ws = await websockets.connect(f"{worker.ws_url}/ws/app")  # the hub starts with a socket
    await ws.close()
    for _ in range(50):
        text = httpx.get(f"{worker.http_url}/metrics", timeout=5).text
        match = re.search(r"^relay_redis_pubsub_buffer_limit_bytes (\S+)$", text, re.M)
        if match and float(match.group(1)) > 0:
            return worker, float(match.group(1))
        await asyncio.sleep(0.1)
    return worker, 0.0


async def test_redis_default_limit_is_warned_about(daphne_workers, private_redis):
    private_redis.client().config_set("client-output-buffer-limit", "pubsub 33554432 8388608 60")
    worker, limit = await start_and_touch(daphne_workers, private_redis)
    assert limit == 33554432
    assert "CONFIG SET client-output-buffer-limit" in worker.logs()
    assert "lower PULSE_RELAY_WINDOW_BYTES" in worker.logs()


async def test_a_raised_limit_is_quiet(daphne_workers, private_redis):
    private_redis.client().config_set("client-output-buffer-limit", "pubsub 536870912 268435456 60")
    worker, limit = await start_and_touch(daphne_workers, private_redis)
    assert limit == 536870912
    assert "CONFIG SET client-output-buffer-limit" not in worker.logs()
