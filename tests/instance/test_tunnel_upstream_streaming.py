"""Through PULSE_RELAY_UPSTREAM: bodies stream both ways, SSE is not buffered, headers are
filtered, the device is named without the in-process secret, and WebSockets are relayed."""

import asyncio
import hashlib

from instance.tunnel import Tunnel
from relayproto.inner import StreamKind
from tests.instance import upstream_support
from tests.instance.tunnel_support import DEVICE, fetch, header, json_body, tunnel_phone
from tests.instance.upstream_support import running_upstream


async def test_a_large_post_streams_to_the_upstream():
    upload = bytes(range(256)) * (8 * 4096)  # 8 MiB
    async with running_upstream() as url, tunnel_phone(Tunnel(upstream=url)) as phone:
        head, body = await fetch(phone, "POST", "/sha256", [], upload, timeout=30)
    assert head.status == 200, body
    assert header(head, "x-upstream") == "yes"
    assert json_body(body) == {"sha256": hashlib.sha256(upload).hexdigest(), "size": len(upload)}


async def test_the_upstream_sees_filtered_headers_and_the_device_but_not_the_secret():
    sent = [
        ("accept", "*/*"),
        ("cookie", "a=b"),
        ("authorization", "Bearer x"),
        ("x-forwarded-for", "203.0.113.9"),
        ("connection", "x-hop"),
        ("x-hop", "1"),
        ("x-pulse-device-id", "forged"),
    ]
    async with running_upstream() as url, tunnel_phone(Tunnel(upstream=url)) as phone:
        _head, body = await fetch(phone, "GET", "/headers", sent)
    headers = json_body(body)["headers"]
    assert headers["x-pulse-device-id"] == DEVICE.device_id
    assert headers["host"] == url.removeprefix("http://")
    assert headers["accept"] == "*/*"
    for dropped in ("cookie", "authorization", "x-forwarded-for", "x-hop", "x-pulse-tunnel-secret"):
        assert dropped not in headers
    assert "accept-encoding" not in headers  # httpx's defaults are not added


async def test_upstream_sse_events_arrive_before_the_next_is_produced():
    gate = asyncio.Event()
    upstream_support.state.update(gate=gate, produced=0)
    async with running_upstream() as url, tunnel_phone(Tunnel(upstream=url)) as phone:
        stream = await phone.open_stream(StreamKind.SSE, "GET", "/events?count=4", end=True)
        assert (await asyncio.wait_for(stream.response_head(), 5)).status == 200
        for index in range(4):
            assert await asyncio.wait_for(stream.read(), 5) == f"data: {index}\n\n".encode()
            assert upstream_support.state["produced"] == index + 1
            gate.set()
        assert await asyncio.wait_for(stream.read(), 5) == b""


async def test_websocket_messages_and_close_codes_go_both_ways_through_the_upstream():
    upstream_support.state.pop("disconnect_code", None)
    async with running_upstream() as url, tunnel_phone(Tunnel(upstream=url)) as phone:
        stream = await phone.open_stream(
            StreamKind.WEBSOCKET, "GET", "/ws/echo", [("sec-websocket-protocol", "chat")]
        )
        head = await asyncio.wait_for(stream.response_head(), 5)
        assert head.status == 101
        assert header(head, "sec-websocket-protocol") == "chat"
        await stream.send_ws("hi")
        await stream.send_ws(b"\x01" * 70_000)
        assert await asyncio.wait_for(stream.receive_ws(), 5) == "hi"
        assert await asyncio.wait_for(stream.receive_ws(), 5) == b"\x01" * 70_000
        await stream.close_ws(4003, "phone done")
        assert await asyncio.wait_for(stream.receive_ws(), 5) is None
        assert stream.ws_close.code == 4003
        await asyncio.sleep(0.1)
        assert upstream_support.state["disconnect_code"] == 4003

        stream = await phone.open_stream(StreamKind.WEBSOCKET, "GET", "/ws/echo")
        assert (await asyncio.wait_for(stream.response_head(), 5)).status == 101
        await stream.send_ws("close:4004")
        assert await asyncio.wait_for(stream.receive_ws(), 5) is None
        assert (stream.ws_close.code, stream.ws_close.reason) == (4004, "upstream")
        await stream.close_ws(4004, "")


async def test_an_upstream_that_refuses_the_upgrade_answers_its_status():
    async with running_upstream() as url, tunnel_phone(Tunnel(upstream=url)) as phone:
        stream = await phone.open_stream(StreamKind.WEBSOCKET, "GET", "/ws/other")
        head = await asyncio.wait_for(stream.response_head(), 5)
        await asyncio.wait_for(stream.read_all(), 5)
    assert head.status == 403
