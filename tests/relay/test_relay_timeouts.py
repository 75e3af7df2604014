"""Handshake and idle timeouts close what would otherwise hang; pings keep sockets alive."""

from relayproto.control import Close, CloseReason, encode_control
from relayproto.frames import WS_CLOSE_CODES, ErrorCode, FrameType, decode_frame, encode_ping
from tests.relay.relay_client import FrameClient, data_frame, open_channel, registered_instance


async def test_instance_that_never_answers_the_handshake_is_handshake_timeout(
    relay_app, licence_token
):
    instance, _ = await registered_instance(relay_app, licence_token)
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    cid = await open_channel(app, instance, "home-1")
    await app.send(data_frame(cid, b"message 1 from an unknown device"))
    await instance.recv()  # the instance reads it and, as designed, says nothing
    frame, close = await app.recv_control(timeout=6)
    assert frame.type is FrameType.CLOSE and close.code == CloseReason.HANDSHAKE_TIMEOUT
    instance_frame, instance_close = await instance.recv_control(timeout=2)
    assert instance_frame.channel_id == cid
    assert instance_close.code == CloseReason.HANDSHAKE_TIMEOUT
    await app.close()
    await instance.close()


async def test_answered_handshake_stops_the_clock(relay_app, licence_token):
    instance, _ = await registered_instance(relay_app, licence_token)
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    cid = await open_channel(app, instance, "home-1")
    await instance.send(data_frame(cid, b"message 2"))
    await app.recv()
    assert await app.nothing_more(timeout=3.5)
    await app.send(encode_control(Close(code=CloseReason.NORMAL), cid))
    await app.close()
    await instance.close()


async def test_instance_that_never_registers_is_closed(relay_app):
    instance = FrameClient(relay_app, "/ws/instance")
    await instance.connect()
    _, error = await instance.recv_control(timeout=6)
    assert error.code == ErrorCode.HANDSHAKE_TIMEOUT
    assert await instance.expect_closed() == WS_CLOSE_CODES[ErrorCode.HANDSHAKE_TIMEOUT]


async def test_silent_socket_gets_pings_then_idle_timeout(relay_app, settings):
    settings.PULSE_RELAY_PING_INTERVAL = 1
    settings.PULSE_RELAY_IDLE_TIMEOUT = 3
    settings.PULSE_RELAY_HELLO_TIMEOUT = 60  # this test is about idleness, not the hello
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    first = await app.communicator.receive_output(3)
    assert decode_frame(first["bytes"]).type is FrameType.PING
    frames = []
    while True:
        message = await app.communicator.receive_output(6)
        if message["type"] == "websocket.close":
            break
        frames.append(decode_frame(message["bytes"]))
    assert frames[-1].type is FrameType.ERROR
    assert message["code"] == WS_CLOSE_CODES[ErrorCode.IDLE_TIMEOUT]


async def test_socket_that_answers_keeps_its_connection(relay_app, settings):
    settings.PULSE_RELAY_PING_INTERVAL = 1
    settings.PULSE_RELAY_IDLE_TIMEOUT = 3
    settings.PULSE_RELAY_HELLO_TIMEOUT = 60  # this test is about idleness, not the hello
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    for _ in range(5):
        message = await app.communicator.receive_output(3)
        ping = decode_frame(message["bytes"])
        assert ping.type is FrameType.PING
        await app.send(encode_ping(bytes(ping.payload), pong=True))
    await app.close()
