"""WebSockets through the tunnel to in-process consumers: messages both ways, close codes."""

import asyncio
import json

import pytest

from instance.tunnel import Tunnel
from relayproto.inner import StreamKind
from tests.instance import tunnel_consumers
from tests.instance.tunnel_support import DEVICE, header, tunnel_phone

# Channels consumers check the database connection before each message.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def echo_tunnel(settings):
    settings.PULSE_RELAY_UPSTREAM = ""
    tunnel_consumers.disconnect_codes.clear()
    return Tunnel(websocket_app=tunnel_consumers.application)


async def open_ws(phone, path, headers=()):
    stream = await phone.open_stream(StreamKind.WEBSOCKET, "GET", path, headers)
    head = await asyncio.wait_for(stream.response_head(), 5)
    return stream, head


async def test_text_and_binary_echo_and_the_phones_close_code_reaches_the_app(echo_tunnel):
    async with tunnel_phone(echo_tunnel) as phone:
        stream, head = await open_ws(phone, "/ws/echo", [("sec-websocket-protocol", "chat, v2")])
        assert head.status == 101
        assert header(head, "sec-websocket-protocol") == "chat"
        await stream.send_ws("hello")
        await stream.send_ws(b"\x00\xff" * 100_000)
        assert await asyncio.wait_for(stream.receive_ws(), 5) == "hello"
        assert await asyncio.wait_for(stream.receive_ws(), 5) == b"\x00\xff" * 100_000
        await stream.close_ws(4001, "done")
        assert await asyncio.wait_for(stream.receive_ws(), 5) is None
        assert stream.ws_close.code == 4001
        for _ in range(50):
            if tunnel_consumers.disconnect_codes:
                break
            await asyncio.sleep(0.02)
    assert tunnel_consumers.disconnect_codes == [4001]


async def test_the_apps_close_code_and_reason_reach_the_phone(echo_tunnel):
    async with tunnel_phone(echo_tunnel) as phone:
        stream, _ = await open_ws(phone, "/ws/echo")
        await stream.send_ws("close:4002")
        assert await asyncio.wait_for(stream.receive_ws(), 5) is None
        assert (stream.ws_close.code, stream.ws_close.reason) == (4002, "asked to close")
        await stream.close_ws(4002, "")


async def test_the_consumer_sees_the_device_headers_but_no_cookie(echo_tunnel):
    async with tunnel_phone(echo_tunnel) as phone:
        stream, _ = await open_ws(phone, "/ws/echo", [("cookie", "sessionid=x")])
        await stream.send_ws("headers")
        seen = json.loads(await asyncio.wait_for(stream.receive_ws(), 5))
        await stream.close_ws(1000, "")
    assert seen["device"] == DEVICE.name
    assert seen["headers"]["x-pulse-device-id"] == DEVICE.device_id
    assert "cookie" not in seen["headers"]


async def test_refused_and_unknown_sockets_get_403_and_404(echo_tunnel):
    async with tunnel_phone(echo_tunnel) as phone:
        stream, head = await open_ws(phone, "/ws/refuse")
        assert head.status == 403
        assert b"refused" in await asyncio.wait_for(stream.read_all(), 5)
        stream, head = await open_ws(phone, "/ws/nowhere")
        assert head.status == 404
        assert b"no WebSocket at /ws/nowhere" in await asyncio.wait_for(stream.read_all(), 5)


async def test_the_monitor_feed_pushes_samples_through_the_projects_router(settings, tmp_path):
    settings.PULSE_RELAY_UPSTREAM = ""
    settings.DATA_DIR = tmp_path
    async with tunnel_phone(Tunnel()) as phone:
        stream, head = await open_ws(phone, "/ws/monitor?interval=0.1")
        assert head.status == 101
        first = json.loads(await asyncio.wait_for(stream.receive_ws(), 5))
        second = json.loads(await asyncio.wait_for(stream.receive_ws(), 5))
        await stream.close_ws(1000, "")
        assert await asyncio.wait_for(stream.receive_ws(), 5) is None
    assert first["type"] == "sample"
    assert second["sample"]["time"] > first["sample"]["time"]
