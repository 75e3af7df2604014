"""Behind a real HAProxy hashing on ?iid=, 20 instances with 5 phones each over 3 workers:
every phone reaches its own instance and never another, and (from the workers' /metrics) at
least 95 % of channels stay inside one worker; in fact none crosses Redis."""

import re

import httpx
import pytest

from relay import operator
from relayproto import licence
from relayproto.control import Connect, encode_control
from relayproto.frames import FrameType
from tests.harness.haproxy import start_haproxy
from tests.relay.relay_client import SocketClient, data_frame, register_over_socket

pytestmark = pytest.mark.slow

INSTANCES = 20
PHONES = 5


@pytest.fixture
def balanced_relay(daphne_workers, tmp_path):
    """Three relay-only daphne workers sharing Redis, behind HAProxy; and the operator key."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    key = operator.generate(data_dir)
    workers = daphne_workers(3, env={"PULSE_ROLES": "relay", "PULSE_TRUST_X_FORWARDED_FOR": "true"})
    proxy = start_haproxy(workers, tmp_path)
    yield workers, proxy, key
    proxy.stop()


def total(metrics: str, name: str, labels: str) -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", metrics, re.M)
    return float(match.group(1)) if match else 0.0


async def test_each_phone_reaches_its_own_instance_on_the_same_worker(balanced_relay):
    workers, proxy, key = balanced_relay
    instances = {}
    for n in range(INSTANCES):
        iid = f"home-{n}"
        token = licence.issue(key, name=iid, days=1, instance_id=iid)
        instances[iid], ack = await register_over_socket(
            f"{proxy.ws_url}/ws/instance?iid={iid}", token
        )
        assert ack.instance_id == iid
    phones = []
    for iid, instance in instances.items():
        for p in range(PHONES):
            phone = await SocketClient.open(f"{proxy.ws_url}/ws/app?iid={iid}")
            await phone.send(encode_control(Connect(ref=p + 1, instance_id=iid)))
            ack, _ = await phone.recv_control()
            assert ack.type is FrameType.CONNECT_ACK
            opened = await instance.recv()
            assert opened.type is FrameType.OPEN and opened.channel_id == ack.channel_id
            cid = ack.channel_id
            await phone.send(data_frame(cid, f"{iid}/{p} to home".encode()))
            got = await instance.recv()
            assert bytes(got.payload) == f"{iid}/{p} to home".encode()
            await instance.send(data_frame(cid, f"{iid} to {p}".encode()))
            back = await phone.recv()
            assert bytes(back.payload) == f"{iid} to {p}".encode()
            phones.append(phone)

    local = cross = local_channels = cross_channels = 0.0
    used = 0
    for worker in workers:
        metrics = httpx.get(f"{worker.http_url}/metrics", timeout=5).text
        local += total(metrics, "relay_deliveries_total", '{path="local"}')
        cross += total(metrics, "relay_deliveries_total", '{path="cross_worker"}')
        local_channels += total(metrics, "relay_channels_opened_total", '{path="local"}')
        cross_channels += total(metrics, "relay_channels_opened_total", '{path="cross_worker"}')
        used += total(metrics, "relay_sockets", '{kind="instance"}') > 0
    assert local_channels + cross_channels == INSTANCES * PHONES
    share = local_channels / (local_channels + cross_channels)
    print(f"{share:.1%} of {INSTANCES * PHONES} channels local; {cross} frames crossed workers")
    assert share >= 0.95
    assert local >= INSTANCES * PHONES * 2
    assert cross == 0, f"{cross} frames crossed workers through Redis"
    assert used >= 2, "the balancer put every instance on one worker"
    for client in [*phones, *instances.values()]:
        await client.close()
