"""A licence's caps bind its instance at the relay: the lower of the licence's and the relay's
channel cap (announced in REGISTER_ACK), and its bandwidth paced to the lower rate."""

import time

from relayproto import licence
from relayproto.control import Connect, encode_control
from relayproto.frames import ErrorCode, FrameType
from tests.relay.relay_client import FrameClient, data_frame, open_channel, registered_instance


def capped(operator_key, **limits) -> str:
    return licence.issue(operator_key, name="home", days=1, instance_id="home-1", limits=limits)


async def test_the_licence_channel_cap_binds_below_the_relays(relay_app, operator_key, settings):
    settings.PULSE_RELAY_MAX_CHANNELS_PER_INSTANCE = 10
    instance, ack = await registered_instance(relay_app, capped(operator_key, channels=2))
    assert ack.limits.max_channels == 2
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    await open_channel(app, instance, "home-1", ref=1)
    await open_channel(app, instance, "home-1", ref=2)
    await app.send(encode_control(Connect(ref=3, instance_id="home-1")))
    _, error = await app.recv_control()
    assert error.code == ErrorCode.CHANNEL_LIMIT_REACHED and error.ref == 3
    assert "2 open channels" in error.message
    await app.close()
    await instance.close()


async def test_the_relays_cap_binds_below_a_generous_licence(relay_app, operator_key, settings):
    settings.PULSE_RELAY_MAX_CHANNELS_PER_INSTANCE = 3
    instance, ack = await registered_instance(relay_app, capped(operator_key, channels=100))
    assert ack.limits.max_channels == 3
    await instance.close()


async def test_the_licence_bandwidth_paces_the_instance(relay_app, operator_key, settings):
    settings.PULSE_RELAY_INSTANCE_BYTES_PER_SECOND = 0  # the relay alone would not pace
    rate = 64 * 1024
    instance, _ = await registered_instance(relay_app, capped(operator_key, bytes_per_second=rate))
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    cid = await open_channel(app, instance, "home-1")
    started = time.monotonic()
    for _ in range(4):  # 256 KiB: one second's burst, then three seconds of pacing
        await instance.send(data_frame(cid, bytes(rate)))
        frame = await app.recv(timeout=10)
        assert frame.type is FrameType.DATA
    took = time.monotonic() - started
    # A lower bound is the behaviour (the cap holds), not a speed figure.
    assert took >= 2.5, f"256 KiB at 64 KiB/s went through in {took:.2f} s"
    await app.close()
    await instance.close()
