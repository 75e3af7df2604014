"""The relay enforces credit windows, frame sizes, channel and per-address limits."""

from relayproto.control import Connect, encode_control
from relayproto.frames import HEADER, WS_CLOSE_CODES, ErrorCode, FrameType, encode_credit
from tests.relay.relay_client import FrameClient, data_frame, open_channel, registered_instance


async def test_sender_overrunning_its_window_is_closed_with_window_exceeded(
    relay_app, licence_token, settings
):
    settings.PULSE_RELAY_WINDOW_BYTES = 64 * 1024
    instance, ack = await registered_instance(relay_app, licence_token)
    assert ack.limits.window == 64 * 1024
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    cid = await open_channel(app, instance, "home-1")
    chunk = b"x" * (16 * 1024)
    for _ in range(4):  # exactly the window: allowed
        await app.send(data_frame(cid, chunk))
        assert (await instance.recv()).type is FrameType.DATA
    await app.send(data_frame(cid, b"one byte too many"))
    _, error = await app.recv_control()
    assert error.code == ErrorCode.WINDOW_EXCEEDED
    assert await app.expect_closed() == WS_CLOSE_CODES[ErrorCode.WINDOW_EXCEEDED]
    # Its peer learns that the channel is over, instead of waiting forever.
    frame, _ = await instance.recv_control()
    assert frame.type is FrameType.CLOSE and frame.channel_id == cid
    await instance.close()


async def test_credit_from_the_receiver_reopens_the_window(relay_app, licence_token, settings):
    settings.PULSE_RELAY_WINDOW_BYTES = 64 * 1024
    instance, _ = await registered_instance(relay_app, licence_token)
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    cid = await open_channel(app, instance, "home-1")
    chunk = b"y" * (32 * 1024)
    for _round in range(5):  # 160 KiB through a 64 KiB window, crediting as we go
        for _ in range(2):
            await app.send(data_frame(cid, chunk))
            assert len((await instance.recv()).payload) == len(chunk)
        await instance.send(encode_credit(cid, 2 * len(chunk)))
        assert (await app.recv()).type is FrameType.CREDIT
    await app.close()
    await instance.close()


async def test_oversized_frame_is_refused_with_frame_too_large(relay_app, settings):
    settings.PULSE_MAX_FRAME_BYTES = 64 * 1024
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    await app.send(_oversized(9, 64 * 1024 + 1))
    _, error = await app.recv_control()
    assert error.code == ErrorCode.FRAME_TOO_LARGE
    assert await app.expect_closed() == WS_CLOSE_CODES[ErrorCode.FRAME_TOO_LARGE]


def _oversized(cid: int, size: int) -> bytes:
    return HEADER.pack(1, FrameType.DATA, 0, cid, size) + b"z" * size


async def test_garbage_bytes_are_malformed_frame(relay_app):
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    await app.send(b"\x01\xee garbage")
    _, error = await app.recv_control()
    assert error.code == ErrorCode.MALFORMED_FRAME
    assert await app.expect_closed() == WS_CLOSE_CODES[ErrorCode.MALFORMED_FRAME]


async def test_wrong_protocol_version_is_unsupported_version(relay_app):
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    await app.send(HEADER.pack(9, FrameType.PING, 0, 0, 8) + b"12345678")
    _, error = await app.recv_control()
    assert error.code == ErrorCode.UNSUPPORTED_VERSION


async def test_text_messages_are_malformed_frame(relay_app):
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    await app.communicator.send_to(text_data="hello?")
    _, error = await app.recv_control()
    assert error.code == ErrorCode.MALFORMED_FRAME
    await app.expect_closed()


async def test_data_on_an_unknown_channel_is_answered_with_close(relay_app):
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    await app.send(data_frame(1234, b"where does this go"))
    frame, close = await app.recv_control()
    assert frame.type is FrameType.CLOSE and frame.channel_id == 1234
    assert close.code == "PEER_GONE"
    await app.close()


async def test_instance_channel_limit_is_channel_limit_reached(relay_app, licence_token, settings):
    settings.PULSE_RELAY_MAX_CHANNELS_PER_INSTANCE = 2
    instance, _ = await registered_instance(relay_app, licence_token)
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    await open_channel(app, instance, "home-1", ref=1)
    await open_channel(app, instance, "home-1", ref=2)
    await app.send(encode_control(Connect(ref=3, instance_id="home-1")))
    _, error = await app.recv_control()
    assert error.code == ErrorCode.CHANNEL_LIMIT_REACHED and error.ref == 3
    await app.close()
    await instance.close()


async def test_too_many_app_sockets_from_one_address_is_rate_limited(relay_app, settings):
    settings.PULSE_RELAY_MAX_APP_SOCKETS_PER_IP = 2
    first, second = FrameClient(relay_app, "/ws/app"), FrameClient(relay_app, "/ws/app")
    await first.connect()
    await second.connect()
    third = FrameClient(relay_app, "/ws/app")
    await third.connect()
    _, error = await third.recv_control()
    assert error.code == ErrorCode.RATE_LIMITED and error.retry_after
    assert await third.expect_closed() == WS_CLOSE_CODES[ErrorCode.RATE_LIMITED]
    other_address = FrameClient(relay_app, "/ws/app", client_ip="203.0.113.9")
    await other_address.connect()
    assert await other_address.nothing_more()
    await first.close()
    fourth = FrameClient(relay_app, "/ws/app")
    await fourth.connect()
    assert await fourth.nothing_more()


async def test_too_many_connects_per_minute_is_rate_limited(relay_app, settings):
    settings.PULSE_RELAY_CONNECTS_PER_IP_PER_MINUTE = 3
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()  # the socket itself counts once
    codes = []
    for ref in range(3):
        await app.send(encode_control(Connect(ref=ref, instance_id="nobody")))
        codes.append((await app.recv_control())[1].code)
    assert codes == [ErrorCode.INSTANCE_OFFLINE, ErrorCode.INSTANCE_OFFLINE, ErrorCode.RATE_LIMITED]


async def test_phones_using_up_the_rate_leave_the_instance_its_own(
    relay_app, settings, licence_token
):
    settings.PULSE_RELAY_CONNECTS_PER_IP_PER_MINUTE = 2
    phone = FrameClient(relay_app, "/ws/app")  # the home's Wi-Fi: the same address
    await phone.connect()
    await phone.send(encode_control(Connect(ref=1, instance_id="nobody")))
    await phone.recv_control()
    await phone.send(encode_control(Connect(ref=2, instance_id="nobody")))
    assert (await phone.recv_control())[1].code == ErrorCode.RATE_LIMITED
    instance, ack = await registered_instance(relay_app, licence_token)
    assert ack.instance_id == "home-1"
    await instance.close()
    await phone.close()
