"""Once an instance lists its routing tokens' hashes, the relay turns strangers away itself."""

from relay.metrics import LIMITS_HIT
from relayproto.control import Connect, Routes, encode_control, routes_frames
from relayproto.frames import ErrorCode, FrameType, encode_ping
from relayproto.routing import routing_hash, routing_token
from tests.relay.relay_client import FrameClient, registered_instance

KNOWN = routing_token(b"device psk".ljust(32, b"\0"))


async def connect(relay_app, token=None, ref=1):
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    await app.send(encode_control(Connect(ref=ref, instance_id="home-1", routing_token=token)))
    frame, message = await app.recv_control()
    return app, frame, message


async def test_listed_token_connects(relay_app, licence_token):
    instance, _ = await registered_instance(relay_app, licence_token)
    await instance.send(encode_control(Routes(hashes=[routing_hash(KNOWN)])))
    app, frame, _ = await connect(relay_app, KNOWN)
    assert frame.type is FrameType.CONNECT_ACK
    open_frame, open_message = await instance.recv_control()
    assert open_frame.type is FrameType.OPEN and open_message.routing_hash == routing_hash(KNOWN)
    await app.close()
    await instance.close()


async def test_unknown_or_missing_token_is_unauthorized_and_never_reaches_the_instance(
    relay_app, licence_token
):
    instance, _ = await registered_instance(relay_app, licence_token)
    await instance.send(encode_control(Routes(hashes=[routing_hash(KNOWN)])))
    for ref, token in ((5, routing_token(b"x" * 32)), (6, None)):
        app, frame, error = await connect(relay_app, token, ref)
        assert frame.type is FrameType.ERROR
        assert error.code == ErrorCode.UNAUTHORIZED and error.ref == ref
        await app.close()
    assert await instance.nothing_more()
    await instance.close()


async def test_a_new_list_replaces_the_old_one(relay_app, licence_token):
    instance, _ = await registered_instance(relay_app, licence_token)
    await instance.send(encode_control(Routes(hashes=[routing_hash(KNOWN)])))
    await instance.send(encode_control(Routes(hashes=[])))
    app, _frame, error = await connect(relay_app, KNOWN)
    assert error.code == ErrorCode.UNAUTHORIZED
    await app.close()
    await instance.close()


async def test_routes_before_register_is_refused(relay_app):
    instance = FrameClient(relay_app, "/ws/instance")
    await instance.connect()
    await instance.send(encode_control(Routes(hashes=[])))
    _, error = await instance.recv_control()
    assert error.code == ErrorCode.UNAUTHORIZED
    await instance.expect_closed()


async def settled(instance) -> None:
    """Wait until the relay has handled everything the instance sent (PING is answered in
    order)."""
    await instance.send(encode_ping(b"settled!"))
    while (await instance.recv()).type is not FrameType.PONG:
        pass


def device_tokens(count: int) -> list[str]:
    """Routing tokens of ``count`` distinct devices."""
    return [routing_token(n.to_bytes(4, "big").ljust(32, b"\0")) for n in range(count)]


async def test_a_thousand_devices_in_several_frames_all_connect(relay_app, licence_token):
    instance, _ = await registered_instance(relay_app, licence_token)
    tokens = device_tokens(1000)
    messages = routes_frames([routing_hash(t) for t in tokens])
    assert len(messages) > 1
    await instance.send(encode_control(Routes(hashes=[routing_hash(KNOWN)])))
    for message in messages[:-1]:
        await instance.send(encode_control(message))
    await settled(instance)
    # Until the last frame, the previous list still holds.
    app, _frame, error = await connect(relay_app, tokens[-1], ref=2)
    assert error.code == ErrorCode.UNAUTHORIZED
    await app.close()
    await instance.send(encode_control(messages[-1]))
    await settled(instance)
    for ref, token in ((3, tokens[0]), (4, tokens[500]), (5, tokens[-1])):
        app, frame, _ = await connect(relay_app, token, ref)
        assert frame.type is FrameType.CONNECT_ACK
        await instance.recv_control()  # its OPEN
        await app.close()
    app, _frame, error = await connect(relay_app, KNOWN, ref=6)
    assert error.code == ErrorCode.UNAUTHORIZED  # the new list replaced the old one
    await app.close()
    await instance.close()


async def test_a_list_over_the_limit_turns_filtering_off_and_is_counted(
    settings, relay_app, licence_token
):
    settings.PULSE_RELAY_MAX_ROUTES = 100
    instance, _ = await registered_instance(relay_app, licence_token)
    before = LIMITS_HIT.labels("routes")._value.get()
    for message in routes_frames([routing_hash(t) for t in device_tokens(150)]):
        await instance.send(encode_control(message))
    await settled(instance)
    app, frame, _ = await connect(relay_app, routing_token(b"s" * 32))
    assert frame.type is FrameType.CONNECT_ACK  # the instance's handshake decides now
    assert LIMITS_HIT.labels("routes")._value.get() == before + 1
    await app.close()
    await instance.close()
