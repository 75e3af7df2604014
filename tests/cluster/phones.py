"""What the cluster tests do as phones: pair with the home instance, call it, read /metrics."""

from __future__ import annotations

import asyncio
import re
import time

from relayclient import ClientError, RelayClient
from relayproto.control import Connect, encode_control
from relayproto.routing import routing_token
from tests.harness.cluster import Cluster, HomeInstance
from tests.relay.relay_client import SocketClient

PROBE_PATH = "/api/monitor/sample"


async def pair_phone(home: HomeInstance, client: RelayClient, alias: str) -> str:
    """Pair ``client`` from a fresh deep link and approve it with its 6-digit code."""
    link = await asyncio.to_thread(home.api, "POST", "onboarding/deep-link")
    assert link.status_code in (200, 201), link.text
    outcome = await client.pair(link.json()["deep_link"], name=alias, device_name=alias)
    assert outcome.status == "pending"
    devices = (await asyncio.to_thread(home.api, "GET", "devices")).json()
    devices = devices.get("results", devices) if isinstance(devices, dict) else devices
    (pending,) = [d for d in devices if d["status"] == "pending"]
    approved = await asyncio.to_thread(
        home.api, "POST", f"devices/{pending['id']}/approve", json={"code": outcome.sas}
    )
    assert approved.status_code == 200, approved.text
    return str(pending["id"])


async def call(client: RelayClient, alias: str = "home") -> int:
    """One request through the relay; the HTTP status."""
    response = await client.request(alias, "GET", PROBE_PATH)
    await response.read()
    return response.status


async def works_within(client: RelayClient, seconds: float) -> float:
    """Seconds until a call succeeds again (fails the test after ``seconds``)."""
    started = time.monotonic()
    last: Exception | None = None
    while time.monotonic() - started < seconds:
        try:
            if await call(client) == 200:
                return time.monotonic() - started
        except ClientError as exc:
            last = exc
        await asyncio.sleep(0.2)
    raise AssertionError(f"no successful call within {seconds} s; last error: {last}")


def metric_sum(texts: list[str], name: str, labels: str = "") -> float:
    """The sum over workers of one series (0 where a worker lacks it)."""
    pattern = re.compile(rf"^{re.escape(name + labels)} (\S+)$", re.M)
    return sum(float(m.group(1)) for text in texts for m in pattern.finditer(text))


def worker_holding_instance(cluster: Cluster) -> int:
    """The index of the worker the home instance's socket is on."""
    for index, text in enumerate(cluster.metrics()):
        if metric_sum([text], "relay_sockets", '{kind="instance"}') >= 1:
            return index
    raise AssertionError("no worker holds the instance socket")


async def connect_elsewhere(cluster, holder: int, ref: int, phone):
    """CONNECT to the instance, as ``phone``, from a worker that does not hold it (Redis has
    to route it)."""
    other = cluster.workers[(holder + 1) % len(cluster.workers)]
    token = routing_token(phone.state.load().servers["home"].device_psk)
    socket = await SocketClient.open(f"{other.ws_url}/ws/app")
    await socket.send(
        encode_control(Connect(ref=ref, instance_id=cluster.instance_id, routing_token=token))
    )
    frame, message = await socket.recv_control(timeout=15)
    await socket.close()
    return frame, message
