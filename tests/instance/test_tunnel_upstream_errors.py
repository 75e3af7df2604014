"""Upstream failures become 502/503/504 with a reason before the head, a reset after it."""

import asyncio

import pytest

from instance.tunnel import Tunnel
from relayproto.inner import StreamKind
from relayproto.session import StreamResetError
from tests.instance.tunnel_support import fetch, header, tunnel_phone
from tests.instance.upstream_support import free_port_url, garbage_server, running_upstream


async def test_a_refused_connection_is_502_naming_the_upstream():
    url = free_port_url()
    async with tunnel_phone(Tunnel(upstream=url)) as phone:
        head, body = await fetch(phone, "GET", "/anything")
    assert head.status == 502
    assert header(head, "content-type") == "text/plain; charset=utf-8"
    assert b"refused the connection" in body
    assert url.encode() in body


async def test_a_response_that_is_not_http_is_502():
    async with garbage_server() as url, tunnel_phone(Tunnel(upstream=url)) as phone:
        head, body = await fetch(phone, "GET", "/")
    assert head.status == 502
    assert b"RemoteProtocolError" in body


async def test_no_head_within_the_timeout_is_504():
    async with (
        running_upstream() as url,
        tunnel_phone(Tunnel(upstream=url, timeout=0.3)) as phone,
    ):
        head, body = await fetch(phone, "GET", "/slow?seconds=1")
    assert head.status == 504
    assert b"PULSE_RELAY_UPSTREAM_TIMEOUT" in body


async def test_the_in_process_app_has_the_same_deadline(settings):
    settings.ROOT_URLCONF = "tests.instance.tunnel_urls"
    async with tunnel_phone(Tunnel(upstream="", timeout=0.3)) as phone:
        head, _ = await fetch(phone, "GET", "/tunnel-test/slow?seconds=3")
    assert head.status == 504


async def test_a_failure_after_the_head_resets_the_stream():
    async with running_upstream() as url, tunnel_phone(Tunnel(upstream=url)) as phone:
        stream = await phone.open_stream(StreamKind.HTTP, "GET", "/head-then-drop", end=True)
        assert (await asyncio.wait_for(stream.response_head(), 5)).status == 200
        with pytest.raises(StreamResetError) as caught:
            await asyncio.wait_for(stream.read_all(), 5)
    assert caught.value.code == "RESET_UPSTREAM_ERROR"


async def test_a_bad_upstream_setting_and_shutdown_are_503():
    async with tunnel_phone(Tunnel(upstream="ftp://nas.local")) as phone:
        head, body = await fetch(phone, "GET", "/")
    assert head.status == 503
    assert b"PULSE_RELAY_UPSTREAM" in body

    tunnel = Tunnel(upstream="")
    async with tunnel_phone(tunnel) as phone:
        await tunnel.aclose()
        head, body = await fetch(phone, "GET", "/api/monitor/sample")
    assert head.status == 503
    assert b"shutting down" in body
