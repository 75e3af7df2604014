"""A socket must say hello (an instance REGISTER, a phone its first CONNECT) within the hello
timeout, and one address may hold only a few sockets that have not: half-open sockets cannot
pile up on a worker."""

from relay.metrics import LIMITS_HIT
from relayproto.control import Close, CloseReason, Connect, encode_control
from relayproto.frames import WS_CLOSE_CODES, ErrorCode
from tests.relay.relay_client import FrameClient, data_frame, open_channel, registered_instance


async def test_a_phone_socket_that_never_connects_is_closed_after_the_hello_timeout(relay_app):
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    _, error = await app.recv_control(timeout=6)
    assert error.code == ErrorCode.HANDSHAKE_TIMEOUT and "CONNECT" in error.message
    assert await app.expect_closed() == WS_CLOSE_CODES[ErrorCode.HANDSHAKE_TIMEOUT]


async def test_a_phone_that_said_hello_may_stay_between_channels(relay_app, licence_token):
    instance, _ = await registered_instance(relay_app, licence_token)
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    cid = await open_channel(app, instance, "home-1")
    await instance.send(data_frame(cid, b"message 2"))  # the handshake answered
    await app.recv()
    await app.send(encode_control(Close(code=CloseReason.NORMAL), cid))
    assert await app.nothing_more(timeout=3.0)  # past the 2 s hello timeout, still open
    await app.close()
    await instance.close()


async def test_an_address_gets_only_so_many_sockets_that_have_not_said_hello(
    settings, relay_app, licence_token
):
    settings.PULSE_RELAY_MAX_UNGREETED_PER_IP = 3
    settings.PULSE_RELAY_HELLO_TIMEOUT = 60
    before = LIMITS_HIT.labels("ungreeted_per_ip")._value.get()
    waiting = []
    for _ in range(3):
        socket = FrameClient(relay_app, "/ws/app", client_ip="203.0.113.9")
        await socket.connect()
        waiting.append(socket)
    fourth = FrameClient(relay_app, "/ws/app", client_ip="203.0.113.9")
    await fourth.connect()
    _, refusal = await fourth.recv_control()
    assert refusal.code == ErrorCode.RATE_LIMITED and "hello" in refusal.message
    assert LIMITS_HIT.labels("ungreeted_per_ip")._value.get() == before + 1
    # Another address is not affected.
    other = FrameClient(relay_app, "/ws/app", client_ip="203.0.113.10")
    await other.connect()
    assert await other.nothing_more(timeout=0.3)
    # One says hello, another leaves: two slots free again.
    await waiting[0].send(encode_control(Connect(ref=1, instance_id="home-1")))
    await waiting[0].recv_control()  # INSTANCE_OFFLINE: no instance, but it said hello
    await waiting[1].close()
    for _ in range(2):
        late = FrameClient(relay_app, "/ws/app", client_ip="203.0.113.9")
        await late.connect()
        assert await late.nothing_more(timeout=0.3)
        await late.close()
    for socket in (waiting[0], waiting[2], other):
        await socket.close()
