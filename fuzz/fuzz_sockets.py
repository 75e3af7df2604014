"""Fuzz a running relay over raw WebSockets, then check it still pairs a phone end to end.

    python fuzz/fuzz_sockets.py --seconds 60

It starts the product as ``make run`` does (``manage.py serve``: both roles, the embedded
relay, the instance registered with it), then, until the time is up, opens sockets to
``/ws/app`` and ``/ws/instance`` and sends each a burst of random frames, valid frames a few
edits away from valid (CONNECT to the real instance, REGISTER, DATA, CREDIT, CLOSE, PING for
channels that may or may not exist), text messages and oversized ones, reading whatever comes
back. Afterwards the worker must still answer ``/healthz``, a phone must pair with the
reference client and get an answer through the relay, and the worker's log must hold no
traceback. Exit status 0 when all of that holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

import httpx
import websockets

from relayclient import RelayClient
from relayproto.control import Connect, Register, encode_control
from relayproto.frames import FrameType, encode_credit, encode_frame, encode_ping
from tests.harness.daphne_workers import (
    free_port,
    migrate,
    start_worker,
    wait_until_healthy,
    worker_env,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzz_decoders import _mutate

FRAMES_PER_SOCKET = 12
CONCURRENCY = 8


def seeds(instance_id: str) -> list[bytes]:
    """Valid frames of every kind the relay reads, to mutate."""
    return [
        encode_control(Connect(ref=1, instance_id=instance_id)),
        encode_control(Connect(ref=2, instance_id=instance_id, routing_token="x" * 43)),
        encode_control(Register(licence="pulse-lic1.e30.c2ln", client="fuzz/1")),
        encode_frame(FrameType.DATA, 7, b"\x00\x10" + b"r" * 16),
        encode_credit(7, 4096),
        encode_frame(FrameType.CLOSE, 7, b'{"v":1,"code":"NORMAL"}'),
        encode_ping(b"12345678"),
        encode_frame(FrameType.PONG, 0, b"\xfe" + bytes(7)),
    ]


async def one_socket(url: str, rng: random.Random, pool: list[bytes], stats: dict) -> None:
    """Open a socket, send a burst of fuzzed messages, read what comes back, close."""
    try:
        ws = await websockets.connect(url, max_size=4 << 20, open_timeout=10, compression=None)
    except Exception:
        stats["refused"] += 1
        return
    try:
        for _ in range(rng.randrange(1, FRAMES_PER_SOCKET)):
            roll = rng.random()
            if roll < 0.03:
                await ws.send("a text message is not a frame")
            elif roll < 0.05:
                await ws.send(rng.randbytes(rng.randrange(1 << 20, 3 << 20)))  # oversized
            else:
                await ws.send(_mutate(rng, pool))
            stats["messages"] += 1
        while True:
            await asyncio.wait_for(ws.recv(), 0.05)
            stats["answers"] += 1
    except (TimeoutError, websockets.ConnectionClosed):
        pass
    finally:
        await ws.close()
        stats["sockets"] += 1


async def pair_and_call(base: str, token: str, state: Path) -> int:
    """Pair a phone with the reference client and make one call; the HTTP status."""
    api = httpx.AsyncClient(base_url=f"{base}/api/", headers={"Authorization": f"Bearer {token}"})
    link = (await api.post("onboarding/deep-link")).json()["deep_link"]
    await api.aclose()
    async with RelayClient(state) as client:
        outcome = await client.pair(link, name="home", device_name="fuzz survivor")
        if outcome.status != "active":
            raise AssertionError(f"pairing ended {outcome.status}")
        response = await client.request("home", "GET", "/api/monitor/sample")
        await response.read()
        return response.status


async def run(seconds: float, seed: int | None) -> int:
    """Start the product, fuzz it, check it; the exit status."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="fuzz-sockets-") as tmp:
        data = Path(tmp)
        env = worker_env(
            data,
            None,
            "fuzz",
            {
                "PULSE_PAIRING_REQUIRES_APPROVAL": "false",
                "PULSE_RELAY_CONNECTS_PER_IP_PER_MINUTE": "10000000",
                "PULSE_RELAY_MAX_UNGREETED_PER_IP": "100000",
                "PULSE_RELAY_MAX_APP_SOCKETS_PER_IP": "100000",
            },
        )
        migrate(env)
        from tests.harness.cluster import _manage

        token = _manage(
            env, "create_api_token", "--name", "fuzz", "--scopes", "settings:read,devices:write"
        )
        worker = start_worker("fuzzed", env, data, server="serve", port=free_port())
        try:
            wait_until_healthy(worker)
            base = worker.http_url
            headers = {"Authorization": f"Bearer {token}"}
            status: dict = {}
            for _ in range(150):
                status = (
                    await asyncio.to_thread(
                        httpx.get, f"{base}/api/settings/relay/status", headers=headers
                    )
                ).json()
                if status.get("registered"):
                    break
                await asyncio.sleep(0.2)
            instance_id = status.get("instance_id") or ""
            pool = seeds(instance_id)
            stats = dict.fromkeys(("sockets", "messages", "answers", "refused"), 0)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                await asyncio.gather(
                    *(
                        one_socket(f"{worker.ws_url}/ws/{rng.choice(['app', 'instance'])}",
                                   rng, pool, stats)
                        for _ in range(CONCURRENCY)
                    )
                )  # fmt: skip
                if not worker.alive():
                    print(f"FUZZ FAILURE: the worker died\n{worker.logs()}")
                    return 1
            print(
                f"fuzz: {stats['messages']:,} messages over {stats['sockets']:,} sockets "
                f"({stats['answers']:,} answers, {stats['refused']} refused)"
            )
            await asyncio.sleep(2.5)  # the instance's connector, closed by nothing, stays
            healthy = (await asyncio.to_thread(httpx.get, f"{base}/healthz")).status_code == 200
            call = await pair_and_call(base, token, data / "phone.json")
            tracebacks = worker.logs().count("Traceback")
            print(f"after: /healthz {'ok' if healthy else 'FAILED'}, paired call {call}, "
                  f"{tracebacks} tracebacks in the log")  # fmt: skip
            if not healthy or call != 200 or tracebacks:
                print(worker.logs()[-6000:])
                return 1
            return 0
        finally:
            worker.stop()


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="how long to fuzz (default 60)")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    return asyncio.run(run(args.seconds, args.seed))


if __name__ == "__main__":
    sys.exit(main())
