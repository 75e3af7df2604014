"""Instances are admitted by licence; each refusal carries its stable code and close code."""

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from relayproto import licence
from relayproto.control import Error, Register, RegisterAck, encode_control
from relayproto.frames import WS_CLOSE_CODES, ErrorCode, FrameType, encode_ping
from tests.relay.relay_client import FrameClient, data_frame, registered_instance


async def test_valid_licence_registers_with_instance_id_and_resume_token(relay_app, licence_token):
    instance, ack = await registered_instance(relay_app, licence_token)
    assert isinstance(ack, RegisterAck)
    assert ack.instance_id == "home-1"
    assert ack.resume_token and ack.resume_expires_at > 0
    assert ack.limits.window > 0 and ack.limits.max_frame == (1 << 20) - 12
    await instance.close()


async def refused_with(relay_app, token: str) -> tuple[Error, int]:
    instance = FrameClient(relay_app, "/ws/instance")
    await instance.connect()
    await instance.send(encode_control(Register(licence=token, client="tests/1")))
    frame, error = await instance.recv_control()
    assert frame.type is FrameType.ERROR
    return error, await instance.expect_closed()


async def test_garbage_licence_is_license_invalid(relay_app):
    error, close_code = await refused_with(relay_app, "not-a-licence")
    assert error.code == ErrorCode.LICENSE_INVALID
    assert close_code == WS_CLOSE_CODES[ErrorCode.LICENSE_INVALID]


async def test_licence_from_an_untrusted_operator_is_license_invalid(relay_app):
    stranger_key = Ed25519PrivateKey.generate()
    error, _ = await refused_with(relay_app, licence.issue(stranger_key, name="x", days=1))
    assert error.code == ErrorCode.LICENSE_INVALID


async def test_expired_licence_is_license_expired(relay_app, operator_key):
    token = licence.issue(operator_key, name="old", days=1, now=1_000_000)
    error, close_code = await refused_with(relay_app, token)
    assert error.code == ErrorCode.LICENSE_EXPIRED
    assert close_code == WS_CLOSE_CODES[ErrorCode.LICENSE_EXPIRED]


async def test_licence_without_relay_feature_is_feature_missing(relay_app, operator_key):
    token = licence.issue(operator_key, name="x", days=1, features=["backup"])
    error, _ = await refused_with(relay_app, token)
    assert error.code == ErrorCode.FEATURE_MISSING


async def test_revoked_licence_is_license_revoked(relay_app, operator_key, settings):
    token = licence.issue(operator_key, name="x", days=1)
    settings.PULSE_RELAY_REVOKED_LICENCES = [licence.parse_unverified(token).token_id]
    error, close_code = await refused_with(relay_app, token)
    assert error.code == ErrorCode.LICENSE_REVOKED
    assert close_code == WS_CLOSE_CODES[ErrorCode.LICENSE_REVOKED]


async def test_licence_signed_by_a_configured_rotation_key_is_accepted(relay_app, settings):
    from relay import operator

    next_key = Ed25519PrivateKey.generate()
    settings.PULSE_RELAY_OPERATOR_PUBLIC_KEYS = [operator.encode_public_key(next_key.public_key())]
    token = licence.issue(next_key, name="rotated", days=1, instance_id="rot-1")
    instance, ack = await registered_instance(relay_app, token)
    assert ack.instance_id == "rot-1"
    await instance.close()


async def test_frames_before_register_are_unauthorized(relay_app):
    instance = FrameClient(relay_app, "/ws/instance")
    await instance.connect()
    await instance.send(data_frame(5, b"sneaky"))
    _, error = await instance.recv_control()
    assert error.code == ErrorCode.UNAUTHORIZED
    assert await instance.expect_closed() == WS_CLOSE_CODES[ErrorCode.UNAUTHORIZED]


async def test_ping_is_answered_before_register(relay_app):
    instance = FrameClient(relay_app, "/ws/instance")
    await instance.connect()
    await instance.send(encode_ping(b"12345678"))
    frame = await instance.recv()
    assert frame.type is FrameType.PONG and bytes(frame.payload) == b"12345678"
    await instance.close()


async def test_second_register_on_one_socket_is_refused(relay_app, licence_token):
    instance, _ = await registered_instance(relay_app, licence_token)
    await instance.send(encode_control(Register(licence=licence_token, client="tests/1")))
    _, error = await instance.recv_control()
    assert error.code == ErrorCode.MALFORMED_FRAME
    await instance.expect_closed()
