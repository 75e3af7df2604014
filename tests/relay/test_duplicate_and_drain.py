"""A second registration wins over the first; a draining worker says DRAIN and closes."""

from relay.hub import get_hub
from relayproto.control import Connect, Drain, encode_control
from relayproto.frames import WS_CLOSE_CODES, ErrorCode, FrameType
from tests.relay.relay_client import FrameClient, open_channel, registered_instance


async def test_newest_registration_wins_and_the_older_socket_is_told(relay_app, licence_token):
    older, _ = await registered_instance(relay_app, licence_token)
    newer, ack = await registered_instance(relay_app, licence_token)
    assert ack.instance_id == "home-1"
    _, error = await older.recv_control()
    assert error.code == ErrorCode.DUPLICATE_INSTANCE
    assert await older.expect_closed() == WS_CLOSE_CODES[ErrorCode.DUPLICATE_INSTANCE]
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    await open_channel(app, newer, "home-1")  # channels now reach the newer socket
    await app.close()
    await newer.close()


async def test_drain_sends_drain_then_closes_with_server_draining(relay_app, licence_token):
    instance, _ = await registered_instance(relay_app, licence_token)
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    await get_hub().drain(grace=0.5)
    for client in (instance, app):
        frame, drain = await client.recv_control()
        assert frame.type is FrameType.DRAIN and isinstance(drain, Drain)
        assert drain.retry_after >= 1
        _, error = await client.recv_control()
        assert error.code == ErrorCode.SERVER_DRAINING
        assert await client.expect_closed() == WS_CLOSE_CODES[ErrorCode.SERVER_DRAINING]


async def test_draining_worker_refuses_new_sockets_and_connects(relay_app, licence_token):
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    hub = get_hub()
    hub.draining = True  # as drain() sets it, without closing this socket yet
    await app.send(encode_control(Connect(ref=4, instance_id="home-1")))
    _, error = await app.recv_control()
    assert error.code == ErrorCode.SERVER_DRAINING and error.ref == 4
    late = FrameClient(relay_app, "/ws/app", client_ip="203.0.113.50")
    await late.connect()
    _, refusal = await late.recv_control()
    assert refusal.code == ErrorCode.SERVER_DRAINING
