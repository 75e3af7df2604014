"""Relay throughput, round trip and CPU cost, as ratios to a direct connection in the same run.

Run as ``.venv/bin/python bench/relay_bench.py [--mib 64] [--quick] [--e2e]``. It starts real
relay workers (daphne and uvicorn, one alone and two sharing a private Redis), pushes one-way
bulk traffic from an app socket to an instance socket with the protocol's credit window, and
prints MiB/s, the ratio to a direct TCP stream measured in the same run, the relay's CPU
seconds per GiB (from /proc) and the round-trip time of a small frame. Clients and servers
share this machine's cores, as in ARCHITECTURE.md's spike; compare ratios, not absolutes.

``--e2e`` also seals and opens every record with the protocol's SecureChannel at the ends, the
cost a real phone and instance pay on top of the relay.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402

from relayproto import licence  # noqa: E402
from relayproto.control import Connect, Register, decode_control, encode_control  # noqa: E402
from relayproto.frames import (  # noqa: E402
    HEADER,
    PROTOCOL_VERSION,
    FrameType,
    decode_frame,
    encode_credit,
    encode_frame,
)
from relayproto.records import MAX_PLAINTEXT, SecureChannel  # noqa: E402

FRAME_PAYLOAD = 256 * 1024
DIRECT_CHUNK = 64 * 1024
RECORDS_PER_FRAME = 4  # 4 x 65519-byte records make a frame of about 256 KiB


@dataclass
class Result:
    """One measured path."""

    name: str
    mib_per_s: float
    rtt_ms: float | None = None
    cpu_s_per_gib: float | None = None


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


# --- direct baselines -------------------------------------------------------------------------
async def direct_tcp(total: int) -> float:
    """MiB/s of a plain TCP stream on loopback, written and read 64 KiB at a time."""
    done = asyncio.get_running_loop().create_future()

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got = 0
        while got < total:
            chunk = await reader.read(DIRECT_CHUNK)
            if not chunk:
                break
            got += len(chunk)
        done.set_result(time.perf_counter())
        writer.close()

    server = await asyncio.start_server(sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    chunk = os.urandom(DIRECT_CHUNK)
    start = time.perf_counter()
    for _ in range(total // DIRECT_CHUNK):
        writer.write(chunk)
        await writer.drain()
    end = await done
    writer.close()
    server.close()
    return total / (end - start) / (1 << 20)


async def direct_websocket(total: int) -> tuple[float, float]:
    """MiB/s and RTT (ms) of a direct WebSocket (websockets library, no compression)."""
    done = asyncio.get_running_loop().create_future()

    async def handler(ws) -> None:
        got = 0
        async for message in ws:
            if len(message) <= 16:
                await ws.send(message)
                continue
            got += len(message)
            if got >= total:
                done.set_result(time.perf_counter())

    async with websockets.serve(
        handler, "127.0.0.1", 0, max_size=4 << 20, compression=None
    ) as server:
        port = server.sockets[0].getsockname()[1]
        async with websockets.connect(
            f"ws://127.0.0.1:{port}", max_size=4 << 20, compression=None
        ) as ws:
            rtts = []
            for _ in range(200):
                start = time.perf_counter()
                await ws.send(b"ping")
                await ws.recv()
                rtts.append(time.perf_counter() - start)
            chunk = os.urandom(DIRECT_CHUNK)
            start = time.perf_counter()
            for _ in range(total // DIRECT_CHUNK):
                await ws.send(chunk)
            end = await done
    return total / (end - start) / (1 << 20), statistics.median(rtts) * 1000


# --- through the relay ------------------------------------------------------------------------
async def connect(url: str):
    """A raw relay socket."""
    return await websockets.connect(url, max_size=4 << 20, compression=None, ping_interval=None)


async def recv_frame(ws):
    """Next frame that is not a relay PING (answered, as endpoints must: the relay counts
    what a socket has read by its PONGs)."""
    while True:
        frame = decode_frame(await ws.recv(), max_payload=4 << 20)
        if frame.type is not FrameType.PING:
            return frame
        await ws.send(encode_frame(FrameType.PONG, 0, bytes(frame.payload)))


async def open_relay_channel(instance_url: str, app_url: str, token: str):
    """Register an instance, connect an app to it; returns (instance, app, cid, window)."""
    instance = await connect(instance_url)
    await instance.send(encode_control(Register(licence=token, client="bench/1")))
    ack = decode_control(await recv_frame(instance))
    app = await connect(app_url)
    await app.send(encode_control(Connect(ref=1, instance_id=ack.instance_id)))
    connect_ack = await recv_frame(app)
    assert connect_ack.type is FrameType.CONNECT_ACK, decode_control(connect_ack)
    assert (await recv_frame(instance)).type is FrameType.OPEN
    return instance, app, connect_ack.channel_id, ack.limits.window


async def another_channel(instance, app, ref: int, instance_id: str) -> int:
    """A second channel on the same sockets (the RTT probe's, so credit books stay apart)."""
    await app.send(encode_control(Connect(ref=ref, instance_id=instance_id)))
    connect_ack = await recv_frame(app)
    assert (await recv_frame(instance)).type is FrameType.OPEN
    return connect_ack.channel_id


async def relay_rtt(instance, app, cid: int, rounds: int = 200) -> float:
    """Median ms for a small DATA frame to go app → instance → app."""

    async def echo():
        for _ in range(rounds):
            frame = await recv_frame(instance)
            await instance.send(encode_frame(FrameType.DATA, cid, frame.payload))

    task = asyncio.get_running_loop().create_task(echo())
    small = encode_frame(FrameType.DATA, cid, b"x" * 32)
    rtts = []
    for _ in range(rounds):
        start = time.perf_counter()
        await app.send(small)
        await recv_frame(app)
        rtts.append(time.perf_counter() - start)
    await task
    return statistics.median(rtts) * 1000


async def relay_bulk(instance, app, cid: int, window: int, total: int, e2e: bool) -> float:
    """MiB/s of app → instance bulk DATA, respecting credit; verifies the byte count."""
    tx = rx = None
    if e2e:
        k1, k2 = os.urandom(32), os.urandom(32)
        tx, rx = SecureChannel(k1, k2), SecureChannel(k2, k1)
        chunks = [os.urandom(MAX_PLAINTEXT) for _ in range(RECORDS_PER_FRAME)]
        plain_per_frame = MAX_PLAINTEXT * RECORDS_PER_FRAME
    else:
        payload = os.urandom(FRAME_PAYLOAD)
        frame = encode_frame(FrameType.DATA, cid, payload)
        plain_per_frame = FRAME_PAYLOAD
    frames = max(1, total // plain_per_frame)
    done = asyncio.get_running_loop().create_future()

    async def receive():
        got = 0
        while got < frames * plain_per_frame:
            frame_in = await recv_frame(instance)
            if rx is not None:
                got += sum(len(p) for p in rx.open_many(frame_in.payload))
            else:
                got += len(frame_in.payload)
            await instance.send(encode_credit(cid, len(frame_in.payload)))
        done.set_result(time.perf_counter())

    receiver = asyncio.get_running_loop().create_task(receive())
    in_flight = 0
    start = time.perf_counter()
    for _ in range(frames):
        if tx is not None:
            buffer = tx.seal_many(chunks, headroom=HEADER.size)
            size = len(buffer) - HEADER.size
            HEADER.pack_into(buffer, 0, PROTOCOL_VERSION, FrameType.DATA, 0, cid, size)
            frame = bytes(buffer)
        else:
            size = FRAME_PAYLOAD
        while in_flight + size > window:
            credit = await recv_frame(app)
            in_flight -= int.from_bytes(credit.payload, "big")
        await app.send(frame)
        in_flight += size
    end = await done
    await receiver
    return frames * plain_per_frame / (end - start) / (1 << 20)


async def measure_relay(name: str, workers, token: str, total: int, e2e: bool) -> Result:
    """Bulk, RTT and CPU through these workers (instance on the first, app on the last)."""
    instance, app, cid, window = await open_relay_channel(
        f"{workers[0].ws_url}/ws/instance", f"{workers[-1].ws_url}/ws/app", token
    )
    # 200 uncredited 32-byte probes stay far inside the window of their own channel.
    rtt = await relay_rtt(instance, app, await another_channel(instance, app, 2, "bench-1"))
    pids = sorted({w.process.pid for w in workers})
    before = cpu_seconds(pids)
    rate = await relay_bulk(instance, app, cid, window, total, e2e)
    cpu = (cpu_seconds(pids) - before) / (total / (1 << 30))
    await app.close()
    await instance.close()
    return Result(name, rate, rtt, cpu)


def start_workers(server: str, count: int, env: dict, log_dir: Path):
    """Start relay workers with the test harness (real daphne/uvicorn processes)."""
    from tests.harness.daphne_workers import start_worker, wait_until_healthy

    workers = [start_worker(f"{server}{i}", env, log_dir, server=server) for i in range(count)]
    for worker in workers:
        wait_until_healthy(worker)
    return workers


async def run(
    total: int, e2e: bool, servers: list[str], malloc_tuning: bool = True
) -> list[Result]:
    """Measure every path once, direct baselines first."""
    from tests.harness.daphne_workers import worker_env
    from tests.harness.redis_server import start_redis

    results = [Result("direct TCP", await direct_tcp(total))]
    ws_rate, ws_rtt = await direct_websocket(total)
    results.append(Result("direct WebSocket", ws_rate, ws_rtt))
    workdir = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    data_dir = workdir / "data"
    data_dir.mkdir(mode=0o700)
    os.environ["PULSE_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relayproject.settings")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    import base64

    public = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    token = licence.issue(key, name="bench", days=1, instance_id="bench-1")
    redis = start_redis()
    try:
        env = worker_env(
            data_dir,
            redis.url,
            "bench",
            {
                "PULSE_ROLES": "relay",
                "PULSE_RELAY_OPERATOR_PUBLIC_KEYS": public,
                "PULSE_LOG_LEVEL": "WARNING",
                "PULSE_MALLOC_TUNING": "true" if malloc_tuning else "false",
            },
        )
        # Relay-only workers need no database, so nothing is migrated.
        for server in servers:
            for count in (1, 2):
                workers = start_workers(server, count, env, workdir)
                try:
                    label = f"{server}, {'one worker' if count == 1 else 'two workers via Redis'}"
                    results.append(await measure_relay(label, workers, token, total, e2e))
                finally:
                    for worker in workers:
                        worker.stop()
    finally:
        redis.stop()
    return results


def report(results: list[Result], total: int, e2e: bool) -> None:
    """Print the table; ratios are to direct TCP in this run."""
    base = results[0].mib_per_s
    mode = "E2E records sealed/opened at the ends" if e2e else "opaque DATA"
    print(f"one-way bulk, {total >> 20} MiB, {mode}; ratio = MiB/s over direct TCP's")
    print(f"{'path':38} {'MiB/s':>9} {'ratio':>7} {'RTT p50':>9} {'relay CPU s/GiB':>16}")
    for r in results:
        rtt = f"{r.rtt_ms:.2f} ms" if r.rtt_ms is not None else "-"
        cpu = f"{r.cpu_s_per_gib:.1f}" if r.cpu_s_per_gib is not None else "-"
        print(f"{r.name:38} {r.mib_per_s:9.1f} {r.mib_per_s / base:7.3f} {rtt:>9} {cpu:>16}")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="bulk size per path (MiB)")
    parser.add_argument("--quick", action="store_true", help="8 MiB, for a smoke test")
    parser.add_argument("--e2e", action="store_true", help="seal and open records at the ends")
    parser.add_argument("--servers", default="daphne,uvicorn", help="comma list")
    parser.add_argument(
        "--no-malloc-tuning", action="store_true", help="leave glibc's dynamic thresholds on"
    )
    args = parser.parse_args(argv)
    total = (8 if args.quick else args.mib) << 20
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    results = asyncio.run(run(total, args.e2e, servers, not args.no_malloc_tuning))
    report(results, total, args.e2e)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
