"""Request bodies over PULSE_RELAY_MAX_REQUEST_BYTES get 413; a device over its rate gets 429."""

import asyncio

from instance.tunnel import Tunnel
from relayproto.inner import StreamKind
from tests.instance.tunnel_support import fetch, header, tunnel_phone
from tests.instance.upstream_support import running_upstream

LIMIT = 1 << 20


async def post_too_much(phone, path, headers=()):
    """Send 3 MiB without waiting for the write to finish; return the response head and body."""
    stream = await phone.open_stream(StreamKind.HTTP, "POST", path, headers)

    async def upload():
        try:
            await stream.write(b"x" * (3 * LIMIT))
            await stream.end()
        except Exception:  # the instance resets the stream once it has answered
            return

    writer = asyncio.ensure_future(upload())
    head = await asyncio.wait_for(stream.response_head(), 10)
    body = await asyncio.wait_for(stream.read_all(), 10)
    # A write parked on credit is not woken by the RESET (relayproto.session), so stop it here.
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)
    return head, body


async def test_a_declared_length_over_the_limit_is_413_at_once():
    async with tunnel_phone(Tunnel(upstream="", max_request_bytes=LIMIT)) as phone:
        head, body = await fetch(
            phone, "POST", "/api/monitor/sample", [("content-length", str(LIMIT + 1))], b""
        )
    assert head.status == 413
    assert b"PULSE_RELAY_MAX_REQUEST_BYTES" in body


async def test_a_streamed_body_over_the_limit_is_413_in_process(settings):
    settings.ROOT_URLCONF = "tests.instance.tunnel_urls"
    async with tunnel_phone(Tunnel(upstream="", max_request_bytes=LIMIT)) as phone:
        head, body = await post_too_much(phone, "/tunnel-test/sha256")
    assert head.status == 413
    assert b"PULSE_RELAY_MAX_REQUEST_BYTES" in body


async def test_a_streamed_body_over_the_limit_is_413_through_the_upstream():
    async with (
        running_upstream() as url,
        tunnel_phone(Tunnel(upstream=url, max_request_bytes=LIMIT)) as phone,
    ):
        head, body = await post_too_much(phone, "/sha256")
        # The channel stays usable for the next request.
        ok, _ = await fetch(phone, "POST", "/sha256", [], b"small")
    assert head.status == 413
    assert b"PULSE_RELAY_MAX_REQUEST_BYTES" in body
    assert ok.status == 200


async def test_a_device_over_its_rate_gets_429_with_retry_after():
    async with tunnel_phone(Tunnel(upstream="", requests_per_minute=2)) as phone:
        statuses = [(await fetch(phone, "GET", "/healthz"))[0] for _ in range(3)]
    assert [head.status for head in statuses] == [200, 200, 429]
    assert int(header(statuses[2], "retry-after")) >= 1
