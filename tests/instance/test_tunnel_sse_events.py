"""Server-sent events reach the phone one by one, each before the app produces the next."""

import asyncio

import pytest

from instance.tunnel import Tunnel
from relayproto.inner import ResetCode, StreamKind
from tests.instance import tunnel_views
from tests.instance.tunnel_support import header, tunnel_phone

pytestmark = pytest.mark.urls("tests.instance.tunnel_urls")

COUNT = 5


async def test_each_event_arrives_before_the_next_is_produced(settings):
    settings.PULSE_RELAY_UPSTREAM = ""
    gate = asyncio.Event()
    tunnel_views.sse_gate.update(gate=gate, produced=0)
    async with tunnel_phone(Tunnel()) as phone:
        stream = await phone.open_stream(
            StreamKind.SSE, "GET", f"/tunnel-test/events?count={COUNT}",
            [("accept", "text/event-stream")], end=True,
        )  # fmt: skip
        head = await asyncio.wait_for(stream.response_head(), 5)
        assert head.status == 200
        assert header(head, "content-type") == "text/event-stream"
        for index in range(COUNT):
            chunk = await asyncio.wait_for(stream.read(), 5)
            assert chunk == f"event: tick\ndata: {index}\n\n".encode()
            # The view is parked on the gate: the next event does not exist yet.
            assert tunnel_views.sse_gate["produced"] == index + 1
            gate.set()
        assert await asyncio.wait_for(stream.read(), 5) == b""


async def test_a_phone_that_resets_the_stream_ends_the_view(settings):
    settings.PULSE_RELAY_UPSTREAM = ""
    tunnel_views.sse_gate.update(gate=asyncio.Event(), produced=0, finished=False)
    async with tunnel_phone(Tunnel()) as phone:
        stream = await phone.open_stream(
            StreamKind.SSE, "GET", "/tunnel-test/events?count=1000", end=True
        )
        await asyncio.wait_for(stream.response_head(), 5)
        assert await asyncio.wait_for(stream.read(), 5) == b"event: tick\ndata: 0\n\n"
        await stream.reset(ResetCode.CANCELLED, "the user left the page")
        for _ in range(100):
            if tunnel_views.sse_gate["finished"]:
                break
            await asyncio.sleep(0.02)
        # Django got http.disconnect and cancelled the view parked on the gate.
        assert tunnel_views.sse_gate["finished"]
        assert tunnel_views.sse_gate["produced"] == 1
