"""An encrypted channel in asyncio: handshake, HTTP bodies of any size, WebSocket, truncation."""

import asyncio
import hashlib

import pytest

from relayproto import handshake
from relayproto.e2e import initiate, respond
from relayproto.errors import HandshakeError
from relayproto.inner import StreamKind
from relayproto.session import ChannelSession, StreamResetError
from relayproto.streams import ConnectionTerminated, Role
from tests.relayproto.session_support import linked_channels

INSTANCE = "home-1"


@pytest.fixture
def keys():
    instance_static = handshake.generate_static_key()
    phone_static = handshake.generate_static_key()
    return {
        "instance_static": instance_static,
        "instance_public": handshake.public_key(instance_static),
        "phone_static": phone_static,
        "phone_public": handshake.public_key(phone_static),
        "psk": handshake.generate_psk(),
    }


async def establish(keys, on_stream, *, window=4 << 20, psk=None):
    """A phone session and an instance session over back-to-back channels."""
    app_outer, instance_outer = linked_channels(window=window)

    async def choose(message1):
        assert message1.initiator_static == keys["phone_public"]
        return keys["psk"], handshake.Message2Payload.device()

    phone_side, instance_side = await asyncio.gather(
        initiate(
            app_outer,
            instance_id=INSTANCE,
            static_private=keys["phone_static"],
            instance_public=keys["instance_public"],
            psk=psk or keys["psk"],
            payload=handshake.Message1Payload.device(),
            timeout=3,
        ),
        respond(
            instance_outer,
            instance_id=INSTANCE,
            static_private=keys["instance_static"],
            choose=choose,
            timeout=3,
        ),
    )
    assert phone_side.sas == instance_side.sas
    phone = ChannelSession(app_outer, phone_side.secure, Role.CLIENT)
    instance = ChannelSession(
        instance_outer, instance_side.secure, Role.SERVER, on_stream=on_stream
    )
    await asyncio.gather(phone.start(), instance.start())
    return phone, instance


async def test_http_request_and_response_bodies_of_many_mib_stream_both_ways(keys):
    async def handler(stream):
        digest = hashlib.sha256()
        while chunk := await stream.read():
            digest.update(chunk)
        await stream.send_response(200, [("content-type", "application/octet-stream")])
        await stream.write(digest.digest())
        for index in range(40):
            await stream.write(bytes([index % 251]) * (256 * 1024))
        await stream.end()

    phone, instance = await establish(keys, handler, window=1 << 20)
    upload = bytes(range(256)) * (12 * 4096)  # 12 MiB through a 1 MiB relay window
    stream = await phone.open_stream(StreamKind.HTTP, "POST", "/upload")
    await stream.write(upload)
    await stream.end()
    head = await stream.response_head()
    assert head.status == 200
    body = await stream.read_all()
    assert body[:32] == hashlib.sha256(upload).digest()
    assert len(body) == 32 + 40 * 256 * 1024
    await phone.close()
    assert (await instance.next_control(timeout=2)).__class__.__name__ == "ChannelClosed"


async def test_websocket_messages_echo_with_close_code(keys):
    async def handler(stream):
        await stream.send_response(101)
        while (message := await stream.receive_ws()) is not None:
            await stream.send_ws(message)
        await stream.close_ws(stream.ws_close.code, "bye")

    phone, _instance = await establish(keys, handler)
    stream = await phone.open_stream(StreamKind.WEBSOCKET, "GET", "/ws")
    assert (await stream.response_head()).status == 101
    await stream.send_ws("hello")
    await stream.send_ws(b"\x00" * 200_000)
    assert await stream.receive_ws() == "hello"
    assert await stream.receive_ws() == b"\x00" * 200_000
    await stream.close_ws(4001, "done")
    assert await stream.receive_ws() is None
    assert stream.ws_close.code == 4001
    await phone.close()


async def test_reset_by_the_handler_reaches_the_reader(keys):
    async def handler(stream):
        raise RuntimeError("boom")

    phone, _instance = await establish(keys, handler)
    stream = await phone.open_stream(StreamKind.HTTP, "GET", "/", end=True)
    with pytest.raises(StreamResetError):
        await stream.response_head()
    await phone.close()


async def test_wrong_psk_never_completes_the_handshake(keys):
    with pytest.raises(HandshakeError):
        await establish(keys, None, psk=handshake.generate_psk())


async def test_losing_the_transport_without_close_is_reported_as_truncation(keys):
    async def handler(stream):
        await asyncio.sleep(10)

    phone, instance = await establish(keys, handler)
    await phone.open_stream(StreamKind.HTTP, "GET", "/slow", end=True)
    await phone.outer.close()  # the relay frees the channel: no encrypted CLOSE was exchanged
    event = await instance.next_control(timeout=2)
    assert isinstance(event, ConnectionTerminated) and event.truncated


async def test_resetting_a_stream_wakes_a_local_reader(keys):
    async def handler(stream):
        await asyncio.sleep(10)

    phone, _instance = await establish(keys, handler)
    stream = await phone.open_stream(StreamKind.HTTP, "GET", "/slow", end=True)
    reader = asyncio.get_running_loop().create_task(stream.response_head())
    await asyncio.sleep(0)
    await stream.reset()
    with pytest.raises(StreamResetError):
        await asyncio.wait_for(reader, 2)
    await phone.close()


async def test_a_writer_waiting_for_credit_wakes_when_the_peer_resets(keys):
    from relayproto.inner import ResetCode

    async def handler(stream):
        await stream.reset(ResetCode.TOO_LARGE, "no thanks")

    phone, _instance = await establish(keys, handler)
    stream = await phone.open_stream(StreamKind.HTTP, "POST", "/upload")
    with pytest.raises(StreamResetError):
        await asyncio.wait_for(stream.write(b"x" * (8 << 20)), 5)
    await phone.close()


async def test_websocket_message_larger_than_the_stream_window_goes_out_in_fragments(keys):
    async def handler(stream):
        await stream.send_response(101)
        message = await stream.receive_ws()
        await stream.send_ws(message)

    phone, _instance = await establish(keys, handler)  # stream windows of 1 MiB
    stream = await phone.open_stream(StreamKind.WEBSOCKET, "GET", "/ws")
    assert (await stream.response_head()).status == 101
    big = bytes(range(256)) * (3 * 4096)  # 3 MiB
    await asyncio.wait_for(stream.send_ws(big), 10)
    assert await asyncio.wait_for(stream.receive_ws(), 10) == big
    await stream.send_ws("")  # an empty text message is still one message
    await phone.close()


async def test_a_websocket_message_over_16_mib_is_refused_not_buffered(keys, monkeypatch):
    from relayproto import session as session_module
    from relayproto.errors import StreamError

    monkeypatch.setattr(session_module, "MAX_WS_MESSAGE", 1 << 20)
    outcome = asyncio.get_running_loop().create_future()

    async def handler(stream):
        await stream.send_response(101)
        try:
            await stream.receive_ws()
        except StreamError as exc:
            outcome.set_result(exc.code)

    phone, _instance = await establish(keys, handler)
    stream = await phone.open_stream(StreamKind.WEBSOCKET, "GET", "/ws")
    await stream.response_head()
    with pytest.raises(StreamResetError):
        await asyncio.wait_for(stream.send_ws(b"z" * (3 << 20)), 10)
    assert await asyncio.wait_for(outcome, 5) == "TOO_LARGE"
    await phone.close()
