"""Resident memory per idle phone socket on one relay worker, and how fast sockets open.

Run as ``.venv/bin/python bench/idle_sockets_bench.py [--sockets 10000] [--server uvicorn]``.
It starts one relay-only worker (in-memory layer, per-address limits lifted because every
socket comes from 127.0.0.1), reads its resident memory (VmRSS from /proc) once it has served
a first socket, opens N ``/ws/app`` sockets that greet it with one CONNECT and then stay
idle (answering the relay's pings), reads VmRSS again after a settling pause, and prints
the difference per socket. The client process holds the other end of every socket, so N is
bounded by this shell's ``ulimit -n``.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402

from relayproto.control import Connect, encode_control  # noqa: E402
from tests.harness.daphne_workers import (  # noqa: E402
    start_worker,
    wait_until_healthy,
    worker_env,
)

OPEN_CONCURRENCY = 200
HELLO = encode_control(Connect(ref=1, instance_id="nobody-home"))


def rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


async def open_idle(url: str, count: int) -> list:
    """Open ``count`` sockets, OPEN_CONCURRENCY at a time."""
    sockets: list = []
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def one() -> None:
        async with gate:
            socket = await websockets.connect(url, compression=None, open_timeout=60, max_queue=4)
            # Greet like a phone (a CONNECT; this instance is offline, the socket stays):
            # a socket that never says hello is closed by the relay's hello timeout.
            await socket.send(HELLO)
            await socket.recv()
            sockets.append(socket)

    await asyncio.gather(*(one() for _ in range(count)))
    return sockets


async def run(count: int, server: str, settle: float) -> dict:
    """Measure one worker; returns the figures."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if count + 200 > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 1000), hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if count + 200 > soft:
            raise SystemExit(f"ulimit -n is {soft}: raise it above {count + 200} or use fewer")
    with tempfile.TemporaryDirectory(prefix="idle-bench-") as tmp:
        env = worker_env(
            Path(tmp),
            None,
            "idle",
            {
                "PULSE_ROLES": "relay",
                "PULSE_RELAY_MAX_APP_SOCKETS_PER_IP": str(count * 2),
                "PULSE_RELAY_CONNECTS_PER_IP_PER_MINUTE": str(count * 10),
                "PULSE_RELAY_MAX_UNGREETED_PER_IP": str(OPEN_CONCURRENCY * 2),
                "PULSE_LOG_LEVEL": "WARNING",
            },
        )
        worker = start_worker("idle-worker", env, Path(tmp), server=server)
        try:
            wait_until_healthy(worker)
            url = f"{worker.ws_url}/ws/app"
            warm = await open_idle(url, 10)  # imports and first allocations done
            await asyncio.sleep(1)
            before = rss_kib(worker.process.pid)
            started = time.monotonic()
            sockets = await open_idle(url, count)
            opened = time.monotonic() - started
            await asyncio.sleep(settle)
            after = rss_kib(worker.process.pid)
            alive = sum(1 for s in sockets if s.close_code is None)
            for socket in sockets + warm:
                await socket.close()
        finally:
            worker.stop()
    return {
        "server": server,
        "sockets": count,
        "alive": alive,
        "rss_before_mib": before / 1024,
        "rss_after_mib": after / 1024,
        "kib_per_socket": (after - before) / count,
        "opened_per_s": count / opened,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print one line per server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--server", choices=["daphne", "uvicorn", "both"], default="both")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before reading RSS")
    args = parser.parse_args(argv)
    servers = ["daphne", "uvicorn"] if args.server == "both" else [args.server]
    print("| server | idle sockets | still open | RSS before → after | per socket | opened/s |")
    print("|---|---|---|---|---|---|")
    for server in servers:
        r = asyncio.run(run(args.sockets, server, args.settle))
        print(
            f"| {r['server']} | {r['sockets']} | {r['alive']} | {r['rss_before_mib']:.0f} → "
            f"{r['rss_after_mib']:.0f} MiB | {r['kib_per_socket']:.1f} KiB | "
            f"{r['opened_per_s']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
