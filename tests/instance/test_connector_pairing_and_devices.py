"""The connector registers with a real relay worker; a phone pairs, is approved, and calls.

The phone side uses the protocol library directly; the reference client has tests of its own.
"""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from instance import relay_settings, status
from instance.connector import Connector
from pairing import sessions
from pairing.models import Device
from relay import operator
from relayproto import handshake, licence
from relayproto.connection import AppConnection, ChannelClosedError, RelayError
from relayproto.e2e import initiate
from relayproto.handshake import Message1Payload
from relayproto.inner import CloseCode, PairStatus, StreamKind
from relayproto.routing import routing_token
from relayproto.session import ChannelSession
from relayproto.streams import ChannelClosed, PairResultReceived, Role

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


async def echo_server(stream, device):
    """Stands in for the tunnel: answers with who called and what was asked."""
    body = await stream.read_all()
    await stream.send_response(200, [("content-type", "text/plain")])
    await stream.write(f"{device.name} {stream.request.method} {stream.request.path} ".encode())
    await stream.write(body)
    await stream.end()


@pytest.fixture
def relay_worker(daphne_workers, tmp_path):
    relay_dir = tmp_path / "data"
    relay_dir.mkdir(mode=0o700)
    key = operator.generate(relay_dir)
    (worker,) = daphne_workers(
        1, env={"PULSE_ROLES": "relay", "PULSE_RELAY_HANDSHAKE_TIMEOUT": "2"}
    )
    return worker, key


@pytest.fixture
async def connected_instance(relay_worker, relay_data_dir, settings):
    worker, key = relay_worker
    token = licence.issue(key, name="home", days=1, instance_id="home-1")
    await sync_to_async(relay_settings.update)(
        enabled=True, server_url=worker.ws_url, licence_token=token
    )
    connector = Connector(stream_server=echo_server)
    task = asyncio.get_running_loop().create_task(connector.run())
    for _ in range(100):
        if (await sync_to_async(status.read)()).registered:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail(f"connector never registered: {await sync_to_async(status.read)()}")
    yield worker, connector
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def open_channel(app, instance_id, secret):
    """CONNECT with the routing token; a new pairing reaches the relay's list within a second."""
    for _ in range(20):
        try:
            return await app.open_channel(instance_id, routing_token=routing_token(secret))
        except RelayError as exc:
            if exc.code != "UNAUTHORIZED":
                raise
            last = exc
            await asyncio.sleep(0.25)
    raise last


async def pair_phone(worker, device_name="Ann's phone"):
    """Pair a new phone from a fresh invite; returns (phone keys, device psk, sas, status)."""
    _session, invite = await sync_to_async(sessions.create_pairing_session)(actor="test")
    phone_static = handshake.generate_static_key()
    app = await AppConnection.connect(f"{worker.ws_url}/ws/app")
    outer = await open_channel(app, invite.instance_id, invite.pairing_secret)
    established = await initiate(
        outer,
        instance_id=invite.instance_id,
        static_private=phone_static,
        instance_public=invite.instance_public_key,
        psk=invite.pairing_secret,
        payload=Message1Payload.pairing(invite.pairing_id),
    )
    session = ChannelSession(outer, established.secure, Role.CLIENT)
    await session.start()
    await session.send_pair_confirm(device_name, "android")
    result = await session.next_control(timeout=10)
    assert isinstance(result, PairResultReceived)
    await session.close()
    await app.close()
    return phone_static, established.message2.device_psk, established.sas, result.status


async def call(worker, phone_static, device_psk, instance_public, body=b"hello"):
    """One request over a new device channel; returns the response body."""
    app = await AppConnection.connect(f"{worker.ws_url}/ws/app")
    try:
        outer = await open_channel(app, "home-1", device_psk)
        established = await initiate(
            outer,
            instance_id="home-1",
            static_private=phone_static,
            instance_public=instance_public,
            psk=device_psk,
            payload=Message1Payload.device(),
            timeout=5,
        )
        session = ChannelSession(outer, established.secure, Role.CLIENT)
        await session.start()
        stream = await session.open_stream(StreamKind.HTTP, "POST", "/api/echo")
        await stream.write(body)
        await stream.end()
        assert (await stream.response_head()).status == 200
        answer = await stream.read_all()
        await session.close()
        return answer
    finally:
        await app.close()


async def test_pairing_with_approval_then_requests_work(connected_instance):
    worker, _ = connected_instance
    phone_static, device_psk, sas, result = await pair_phone(worker)
    assert result == PairStatus.PENDING
    device = await sync_to_async(Device.objects.get)()
    assert device.status == Device.PENDING and device.sas == sas
    instance_public = await sync_to_async(relay_settings.identity_public_key)()
    # A pending device is not on the relay's list (and would get no answer from the instance).
    with pytest.raises(RelayError) as refused:
        await call(worker, phone_static, device_psk, instance_public)
    assert refused.value.code == "UNAUTHORIZED"
    await sync_to_async(device.approve)(sas, actor="owner")
    answer = await call(worker, phone_static, device_psk, instance_public, b"payload")
    assert answer == b"Ann's phone POST /api/echo payload"


async def test_revoking_a_device_closes_its_live_channel_within_a_second(connected_instance):
    worker, connector = connected_instance
    await sync_to_async(relay_settings.update)(pairing_requires_approval=False)
    phone_static, device_psk, _sas, result = await pair_phone(worker)
    assert result == PairStatus.ACTIVE
    instance_public = await sync_to_async(relay_settings.identity_public_key)()
    app = await AppConnection.connect(f"{worker.ws_url}/ws/app")
    outer = await open_channel(app, "home-1", device_psk)
    established = await initiate(
        outer,
        instance_id="home-1",
        static_private=phone_static,
        instance_public=instance_public,
        psk=device_psk,
        payload=Message1Payload.device(),
    )
    session = ChannelSession(outer, established.secure, Role.CLIENT)
    await session.start()
    for _ in range(50):
        if connector.responder.live:
            break
        await asyncio.sleep(0.05)
    device = await sync_to_async(Device.objects.get)()
    await sync_to_async(device.revoke)(actor="owner")
    closed = await session.next_control(timeout=1.5)
    assert isinstance(closed, ChannelClosed) and closed.code == CloseCode.DEVICE_REVOKED
    await app.close()
    with pytest.raises(RelayError):
        await call(worker, phone_static, device_psk, instance_public)


async def test_a_relay_that_substitutes_the_instance_key_is_refused(connected_instance):
    worker, _ = connected_instance
    _session, invite = await sync_to_async(sessions.create_pairing_session)(actor="test")
    impostor_public = handshake.public_key(handshake.generate_static_key())
    app = await AppConnection.connect(f"{worker.ws_url}/ws/app")
    outer = await open_channel(app, invite.instance_id, invite.pairing_secret)
    with pytest.raises((handshake.HandshakeError, ChannelClosedError)):
        await initiate(
            outer,
            instance_id=invite.instance_id,
            static_private=handshake.generate_static_key(),
            instance_public=impostor_public,
            psk=invite.pairing_secret,
            payload=Message1Payload.pairing(invite.pairing_id),
            timeout=5,
        )
    await app.close()


async def test_disabling_the_relay_disconnects_within_two_seconds(connected_instance):
    await sync_to_async(relay_settings.update)(enabled=False)
    for _ in range(25):
        current = await sync_to_async(status.read)()
        if current.state == "disabled":
            break
        await asyncio.sleep(0.1)
    assert current.state == "disabled" and not current.registered
