"""Apps reach registered instances through channels; the relay forwards bytes untouched."""

from relayproto.control import Close, CloseReason, Connect, encode_control
from relayproto.frames import ErrorCode, FrameType, encode_credit
from tests.relay.relay_client import FrameClient, data_frame, open_channel, registered_instance


async def test_connect_to_an_offline_instance_is_instance_offline(relay_app):
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    await app.send(encode_control(Connect(ref=7, instance_id="nobody-home")))
    frame, error = await app.recv_control()
    assert frame.type is FrameType.ERROR
    assert error.code == ErrorCode.INSTANCE_OFFLINE and error.ref == 7
    await app.close()


async def test_data_crosses_both_ways_byte_for_byte(relay_app, licence_token):
    instance, _ = await registered_instance(relay_app, licence_token)
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    cid = await open_channel(app, instance, "home-1")
    outbound = data_frame(cid, b"\x00handshake message one\xff" * 100)
    await app.send(outbound)
    assert bytes((await instance.recv()).payload.obj) == outbound
    inbound = data_frame(cid, bytes(range(256)) * 40)
    await instance.send(inbound)
    assert bytes((await app.recv()).payload.obj) == inbound
    await app.close()
    await instance.close()


async def test_close_from_the_instance_reaches_the_app(relay_app, licence_token):
    instance, _ = await registered_instance(relay_app, licence_token)
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    cid = await open_channel(app, instance, "home-1")
    await instance.send(
        encode_control(Close(code=CloseReason.CHANNEL_REFUSED, message="unknown device"), cid)
    )
    frame, close = await app.recv_control()
    assert frame.type is FrameType.CLOSE and frame.channel_id == cid
    assert close.code == CloseReason.CHANNEL_REFUSED and close.message == "unknown device"
    # The channel is gone on both sides: more DATA is answered with CLOSE, not forwarded.
    await app.send(data_frame(cid, b"late"))
    late_frame, late = await app.recv_control()
    assert late_frame.type is FrameType.CLOSE and late.code == CloseReason.PEER_GONE
    assert await instance.nothing_more()
    await app.close()
    await instance.close()


async def test_app_disconnect_closes_its_channels_at_the_instance(relay_app, licence_token):
    instance, _ = await registered_instance(relay_app, licence_token)
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    cid = await open_channel(app, instance, "home-1")
    await app.close()
    frame, close = await instance.recv_control()
    assert frame.type is FrameType.CLOSE and frame.channel_id == cid
    assert close.code == CloseReason.PEER_GONE
    await instance.close()


async def test_instance_disconnect_closes_its_channels_at_the_app(relay_app, licence_token):
    instance, _ = await registered_instance(relay_app, licence_token)
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    cid = await open_channel(app, instance, "home-1")
    await instance.close()
    frame, close = await app.recv_control()
    assert frame.type is FrameType.CLOSE and frame.channel_id == cid
    assert close.code == CloseReason.PEER_GONE
    await app.close()


async def test_one_app_socket_holds_several_channels_with_distinct_ids(relay_app, licence_token):
    instance, _ = await registered_instance(relay_app, licence_token)
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    first = await open_channel(app, instance, "home-1", ref=1)
    second = await open_channel(app, instance, "home-1", ref=2)
    assert first != second
    await instance.send(data_frame(second, b"to-second"))
    frame = await app.recv()
    assert frame.channel_id == second and bytes(frame.payload) == b"to-second"
    await app.close()
    await instance.close()


async def test_credit_frames_are_forwarded_to_the_sender(relay_app, licence_token):
    instance, _ = await registered_instance(relay_app, licence_token)
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    cid = await open_channel(app, instance, "home-1")
    await app.send(data_frame(cid, b"p" * 4096))
    await instance.recv()
    await instance.send(encode_credit(cid, 4096))
    frame = await app.recv()
    assert frame.type is FrameType.CREDIT and frame.channel_id == cid
    assert int.from_bytes(bytes(frame.payload), "big") == 4096
    await app.close()
    await instance.close()


async def test_apps_may_not_send_instance_frames(relay_app):
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    from relayproto.control import Register

    await app.send(encode_control(Register(licence="x.y.z", client="t")))
    _, error = await app.recv_control()
    assert error.code == ErrorCode.MALFORMED_FRAME
    await app.expect_closed()


async def test_routing_token_reaches_the_instance_only_as_its_sha256(relay_app, licence_token):
    import hashlib

    instance, _ = await registered_instance(relay_app, licence_token)
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    await app.send(
        encode_control(Connect(ref=1, instance_id="home-1", routing_token="device-token-123"))
    )
    assert (await app.recv()).type is FrameType.CONNECT_ACK
    open_frame, open_message = await instance.recv_control()
    assert open_message.routing_hash == hashlib.sha256(b"device-token-123").hexdigest()
    assert b"device-token-123" not in bytes(open_frame.payload)
    await app.close()
    await instance.close()
