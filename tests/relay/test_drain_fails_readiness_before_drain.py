"""A worker that starts draining fails /readyz at once, keeps serving through the notice (so a
balancer's health checks move new sockets elsewhere first), then sends DRAIN."""

import asyncio

from django.test import AsyncClient

from relay.hub import get_hub
from relayproto.control import Drain
from relayproto.frames import FrameType
from tests.relay.relay_client import FrameClient, open_channel, registered_instance


async def test_readyz_is_503_draining_from_the_first_moment(relay_app, licence_token):
    instance, _ = await registered_instance(relay_app, licence_token)
    hub = get_hub()
    drain = asyncio.get_running_loop().create_task(hub.drain(grace=0.5, notice=1.0))
    await asyncio.sleep(0.1)
    response = await AsyncClient().get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "draining"
    check = await AsyncClient().get("/readyz?balancer=1")
    assert check.status_code == 503 and check.json()["status"] == "draining"
    metrics = (await AsyncClient().get("/metrics")).content.decode()
    assert "\nrelay_draining 1.0\n" in metrics
    await drain
    await instance.close()


async def test_sockets_keep_working_during_the_notice_then_get_drain(relay_app, licence_token):
    instance, _ = await registered_instance(relay_app, licence_token)
    hub = get_hub()
    loop = asyncio.get_running_loop()
    started = loop.time()
    drain = loop.create_task(hub.drain(grace=0.5, notice=0.6))
    await asyncio.sleep(0.1)
    # A phone the balancer sent here before its checks noticed is still served.
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    await open_channel(app, instance, "home-1")
    frame, message = await app.recv_control()
    assert frame.type is FrameType.DRAIN and isinstance(message, Drain)
    assert loop.time() - started >= 0.6
    # Another worker is ready behind the balancer: come back at once, not after the grace.
    assert message.retry_after == 0
    await drain


async def test_without_a_notice_drain_asks_to_come_back_after_the_grace(relay_app, licence_token):
    instance, _ = await registered_instance(relay_app, licence_token)
    await get_hub().drain(grace=3, notice=0)
    frame, message = await instance.recv_control()
    assert frame.type is FrameType.DRAIN and message.retry_after == 3
