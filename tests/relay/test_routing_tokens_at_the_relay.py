"""Once an instance lists its routing tokens' hashes, the relay turns strangers away itself."""

from relayproto.control import Connect, Routes, encode_control
from relayproto.frames import ErrorCode, FrameType
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
