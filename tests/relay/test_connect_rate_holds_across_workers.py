"""The per-address connect rate holds across workers: a client spreading its sockets over
three workers sharing Redis gets the configured allowance in total, not three times it; with
Redis away each worker allows only its share (fails closed)."""

from __future__ import annotations

import asyncio
import math
import time

import pytest
import websockets

from relayproto.control import decode_control
from relayproto.frames import ErrorCode, decode_frame

pytestmark = pytest.mark.slow

PER_MINUTE = 30


async def attempt(worker, ip: str) -> bool:
    """Open one app socket as ``ip``; True when the relay kept it (no RATE_LIMITED)."""
    ws = await websockets.connect(
        f"{worker.ws_url}/ws/app", additional_headers={"X-Forwarded-For": ip}, open_timeout=10
    )
    try:
        data = await asyncio.wait_for(ws.recv(), 0.5)
    except TimeoutError:
        return True
    except websockets.ConnectionClosed:
        return False
    finally:
        await ws.close()
    error = decode_control(decode_frame(data))
    assert error.code == ErrorCode.RATE_LIMITED, error
    return False


async def spread(workers, ip: str, count: int) -> tuple[int, float]:
    """``count`` attempts round robin over the workers; (accepted, seconds taken)."""
    started = time.monotonic()
    results = await asyncio.gather(*(attempt(workers[n % len(workers)], ip) for n in range(count)))
    return sum(results), time.monotonic() - started


async def test_three_workers_give_one_allowance_and_fail_closed_without_redis(
    daphne_workers, private_redis
):
    workers = daphne_workers(
        3,
        redis=private_redis,
        env={
            "PULSE_ROLES": "relay",
            "PULSE_TRUST_X_FORWARDED_FOR": "true",
            "PULSE_RELAY_CONNECTS_PER_IP_PER_MINUTE": str(PER_MINUTE),
            "PULSE_RELAY_MAX_UNGREETED_PER_IP": "1000",
        },
    )
    accepted, took = await spread(workers, "203.0.113.20", PER_MINUTE * 3)
    refill = math.ceil(took * PER_MINUTE / 60)
    print(f"with Redis: {accepted} of {PER_MINUTE * 3} accepted over 3 workers in {took:.1f} s")
    assert PER_MINUTE <= accepted <= PER_MINUTE + refill

    await asyncio.sleep(3)  # each worker has counted its peers (every 10 s, first at once)
    private_redis.go_away()
    accepted, took = await spread(workers, "203.0.113.21", PER_MINUTE * 3)
    refill = math.ceil(took * PER_MINUTE / 60)
    print(f"Redis away: {accepted} of {PER_MINUTE * 3} accepted, {PER_MINUTE // 3} per worker")
    assert accepted <= PER_MINUTE + refill
    assert accepted >= PER_MINUTE // 3  # each worker still admits its share
