"""2,000 sockets that never say hello, held against a real worker: the hello timeout closes
every one with HANDSHAKE_TIMEOUT and the memory they took is free again (a second wave of
2,000 costs nothing more: the worker reuses it; CPython and glibc keep it mapped rather than
returning it to the OS, and malloc_trim did not change that); with the default per-address
cap only a handful are ever accepted."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import httpx
import pytest
import websockets

from relayproto.frames import WS_CLOSE_CODES, ErrorCode

pytestmark = pytest.mark.slow

SOCKETS = 2000


def rss_kib(pid: int) -> int:
    """Resident memory of a process (Linux /proc)."""
    match = re.search(r"^VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text(), re.M)
    assert match
    return int(match.group(1))


def app_sockets(worker) -> float:
    """relay_sockets{kind="app"} on the worker."""
    text = httpx.get(f"{worker.http_url}/metrics", timeout=5).text
    match = re.search(r'^relay_sockets\{kind="app"\} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


async def open_silent(url: str, count: int) -> list:
    gate = asyncio.Semaphore(200)

    async def one():
        async with gate:
            return await websockets.connect(url, compression=None, open_timeout=60)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def test_two_thousand_silent_sockets_are_closed_and_memory_returns(daphne_workers):
    (worker,) = daphne_workers(
        1,
        env={
            "PULSE_ROLES": "relay",
            "PULSE_RELAY_HELLO_TIMEOUT": "4",
            "PULSE_RELAY_MAX_UNGREETED_PER_IP": str(SOCKETS * 2),
            "PULSE_RELAY_CONNECTS_PER_IP_PER_MINUTE": str(SOCKETS * 10),
            "PULSE_RELAY_MAX_APP_SOCKETS_PER_IP": str(SOCKETS * 2),
        },
    )
    url = f"{worker.ws_url}/ws/app"
    warm = await open_silent(url, 20)
    await asyncio.gather(*(s.wait_closed() for s in warm))
    base = rss_kib(worker.process.pid)
    peaks, afters = [], []
    for _wave in range(2):
        started = time.monotonic()
        sockets = await open_silent(url, SOCKETS)
        assert app_sockets(worker) == SOCKETS
        peaks.append(rss_kib(worker.process.pid))
        await asyncio.wait_for(asyncio.gather(*(s.wait_closed() for s in sockets)), 30)
        closed_after = time.monotonic() - started
        assert {s.close_code for s in sockets} == {WS_CLOSE_CODES[ErrorCode.HANDSHAKE_TIMEOUT]}
        await asyncio.sleep(2)
        assert app_sockets(worker) == 0
        afters.append(rss_kib(worker.process.pid))
    print(
        f"{SOCKETS} silent sockets, twice: RSS {base // 1024} MiB, peaks "
        f"{[p // 1024 for p in peaks]}, after {[a // 1024 for a in afters]} MiB; each wave "
        f"closed {closed_after:.1f} s after it began"
    )
    first_growth = peaks[0] - base
    assert peaks[1] - peaks[0] < first_growth * 0.2, "the second wave took new memory: a leak"


async def test_with_the_default_cap_an_address_holds_only_sixteen_silent_sockets(
    daphne_workers,
):
    (worker,) = daphne_workers(1, env={"PULSE_ROLES": "relay", "PULSE_RELAY_HELLO_TIMEOUT": "30"})
    sockets = await open_silent(f"{worker.ws_url}/ws/app", 40)
    await asyncio.sleep(0.5)
    refused = [s for s in sockets if s.close_code == WS_CLOSE_CODES[ErrorCode.RATE_LIMITED]]
    assert len(refused) == 40 - 16
    assert app_sockets(worker) == 16
    for socket in sockets:
        await socket.close()
