"""A relay-only worker needs no database: with no migrations and a database URL that points
nowhere, it admits an instance, routes a phone's channel, and reports both in logs and /metrics.
"""

import re

import httpx
import pytest

from relay import operator
from relayproto import licence
from relayproto.control import Connect, encode_control
from relayproto.frames import FrameType
from tests.harness.daphne_workers import start_worker, wait_until_healthy, worker_env
from tests.relay.relay_client import SocketClient, data_frame, register_over_socket

pytestmark = pytest.mark.slow

# Nothing listens on port 1: any query would fail with OperationalError at once.
NOWHERE = "postgres://nobody@127.0.0.1:1/nowhere"


@pytest.fixture(params=["daphne", "uvicorn"])
def databaseless_worker(request, tmp_path, redis_server, channel_prefix):
    """One relay-only worker, never migrated, its DATABASE_URL unreachable."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    key = operator.generate(data_dir)
    env = worker_env(
        data_dir,
        redis_server.url,
        channel_prefix,
        {"PULSE_ROLES": "relay", "DATABASE_URL": NOWHERE},
    )
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    worker = start_worker("relay-only", env, log_dir, server=request.param)
    try:
        wait_until_healthy(worker)
        yield worker, licence.issue(key, name="home", days=1, instance_id="home-1"), data_dir
    finally:
        worker.stop()
        if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
            print(f"--- worker log ---\n{worker.logs()}")


def metric(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.M)
    assert match, f"{name}{labels} is not in /metrics"
    return float(match.group(1))


async def test_relay_only_worker_serves_without_a_database(databaseless_worker):
    worker, token, data_dir = databaseless_worker
    assert httpx.get(f"{worker.http_url}/readyz", timeout=5).json()["status"] == "ok"

    instance, ack = await register_over_socket(f"{worker.ws_url}/ws/instance", token)
    assert ack.instance_id == "home-1"
    phone = await SocketClient.open(f"{worker.ws_url}/ws/app")
    await phone.send(encode_control(Connect(ref=7, instance_id="home-1")))
    connect_ack, _ = await phone.recv_control()
    assert connect_ack.type is FrameType.CONNECT_ACK
    opened = await instance.recv()
    assert opened.type is FrameType.OPEN and opened.channel_id == connect_ack.channel_id
    cid = opened.channel_id

    await phone.send(data_frame(cid, b"noise message 1"))
    to_instance = await instance.recv()
    assert (to_instance.type, bytes(to_instance.payload)) == (FrameType.DATA, b"noise message 1")
    await instance.send(data_frame(cid, b"noise message 2"))
    to_phone = await phone.recv()
    assert (to_phone.type, bytes(to_phone.payload)) == (FrameType.DATA, b"noise message 2")

    metrics = httpx.get(f"{worker.http_url}/metrics", timeout=5).text
    assert metric(metrics, "relay_events_total", '{event="relay.instance_registered"}') == 1
    assert metric(metrics, "relay_sockets", '{kind="instance"}') == 1
    assert metric(metrics, "relay_channels", '{path="local"}') == 1
    frames = '{direction="app_to_instance",path="local"}'
    assert metric(metrics, "relay_frames_forwarded_total", frames) >= 1
    await phone.close()
    await instance.close()

    logs = worker.logs()
    assert re.search(r"relay\.instance_registered ip=127\.0\.0\.1 instance_id=home-1", logs)
    assert "OperationalError" not in logs and "Traceback" not in logs
    # Nothing fell back to a local SQLite file either.
    assert not (data_dir / "db.sqlite3").exists()
    # The instance's routes are not mounted in a relay-only worker.
    assert httpx.get(f"{worker.http_url}/api/settings/relay", timeout=5).status_code == 404
    assert httpx.get(f"{worker.http_url}/settings/relay", timeout=5).status_code == 404
