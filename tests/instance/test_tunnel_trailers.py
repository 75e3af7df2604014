"""HTTP trailers through the tunnel: request trailers are refused with a 400 that says why
(the upstream client cannot send them), and a response that announces trailers, which cannot
reach the phone, says so in a header; nothing is dropped silently."""

import asyncio

from instance.tunnel import Tunnel
from relayproto.inner import StreamKind
from tests.instance.tunnel_support import fetch, header, tunnel_phone
from tests.instance.upstream_support import running_upstream


async def test_a_request_ending_with_trailers_is_refused_with_400():
    async with running_upstream() as url, tunnel_phone(Tunnel(upstream=url)) as phone:
        stream = await phone.open_stream(StreamKind.HTTP, "POST", "/sha256", [])
        await stream.write(b"body")
        await stream.send_trailers([("x-checksum", "abc")])
        head = await asyncio.wait_for(stream.response_head(), 10)
        body = await asyncio.wait_for(stream.read_all(), 10)
        ok, _ = await fetch(phone, "POST", "/sha256", [], b"small")  # the channel goes on
    assert head.status == 400
    assert b"trailers (x-checksum)" in body and b"send them as headers" in body
    assert ok.status == 200


async def announcing_trailers(scope, receive, send):
    """A service whose response announces a trailer (as gRPC-web and some APIs do)."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"trailer", b"x-checksum")],
        }
    )
    await send({"type": "http.response.body", "body": b"payload"})


async def test_a_response_announcing_trailers_says_they_were_dropped():
    async with (
        running_upstream(announcing_trailers) as url,
        tunnel_phone(Tunnel(upstream=url)) as phone,
    ):
        head, body = await fetch(phone, "GET", "/", [], None)
    assert head.status == 200 and body == b"payload"
    assert header(head, "x-pulse-trailers-dropped") == "x-checksum"
    assert header(head, "trailer") is None  # hop-by-hop, as before
