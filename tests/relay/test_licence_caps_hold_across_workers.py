"""A licence's channel cap holds over the whole relay: phones on three workers together get
no more channels to the instance than the licence allows, because every channel of an
instance passes through its one socket, wherever the phones are."""

import pytest

from relay import operator
from relayproto import licence
from relayproto.control import Close, CloseReason, Connect, encode_control
from relayproto.frames import ErrorCode, FrameType
from tests.relay.relay_client import SocketClient, register_over_socket

pytestmark = pytest.mark.slow


async def connect(worker, ref: int):
    """A phone on ``worker`` asking for a channel to home-1: (socket, frame, answer)."""
    phone = await SocketClient.open(f"{worker.ws_url}/ws/app")
    await phone.send(encode_control(Connect(ref=ref, instance_id="home-1")))
    frame, answer = await phone.recv_control()
    return phone, frame, answer


async def test_three_workers_give_the_licence_cap_in_total(daphne_workers, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    key = operator.generate(data_dir)
    token = licence.issue(key, name="home", days=1, instance_id="home-1", limits={"channels": 3})
    workers = daphne_workers(3, env={"PULSE_ROLES": "relay"})
    instance, ack = await register_over_socket(f"{workers[0].ws_url}/ws/instance", token)
    assert ack.limits.max_channels == 3

    phones = []
    for ref, worker in enumerate(workers, start=1):
        phone, frame, answer = await connect(worker, ref)
        assert frame.type is FrameType.CONNECT_ACK, answer
        assert (await instance.recv()).type is FrameType.OPEN
        phones.append((phone, frame.channel_id))

    for worker in workers[1:]:  # a fourth, from a worker that does not hold the instance
        extra, frame, answer = await connect(worker, 9)
        assert frame.type is FrameType.ERROR, answer
        assert answer.code == ErrorCode.CHANNEL_LIMIT_REACHED and answer.ref == 9
        await extra.close()

    # One channel ends: a phone on another worker may have its place.
    phone, cid = phones[2]
    await phone.send(encode_control(Close(code=CloseReason.NORMAL), cid))
    frame, _ = await instance.recv_control()
    assert frame.type is FrameType.CLOSE and frame.channel_id == cid
    late, frame, answer = await connect(workers[1], 10)
    assert frame.type is FrameType.CONNECT_ACK, answer
    for phone, _ in phones:
        await phone.close()
    await late.close()
    await instance.close()
