"""A paired phone reads the instance's monitor sample through the tunnel, in process."""

import pytest

from instance.tunnel import Tunnel
from tests.instance.tunnel_support import fetch, header, json_body, tunnel_phone


@pytest.fixture(autouse=True)
def in_process(settings, tmp_path):
    settings.PULSE_RELAY_UPSTREAM = ""
    settings.DATA_DIR = tmp_path


async def test_monitor_sample_through_the_tunnel_is_json_with_host_figures():
    async with tunnel_phone(Tunnel()) as phone:
        head, body = await fetch(phone, "GET", "/api/monitor/sample")
    assert head.status == 200, body
    assert header(head, "content-type") == "application/json"
    sample = json_body(body)
    assert sample["uptime_seconds"] > 0
    assert len(sample["load_average"]) == 3
    assert sample["memory"]["total_bytes"] >= sample["memory"]["available_bytes"] > 0
    assert sample["disk"]["total_bytes"] >= sample["disk"]["free_bytes"] > 0
    assert sample["process"]["rss_bytes"] > 1 << 20


async def test_the_monitor_stream_sends_count_sse_events_through_the_tunnel():
    async with tunnel_phone(Tunnel()) as phone:
        head, body = await fetch(phone, "GET", "/api/monitor/stream?interval=0.1&count=3")
    assert head.status == 200
    assert header(head, "content-type") == "text/event-stream"
    events = [block for block in body.decode().split("\n\n") if block]
    assert len(events) == 3
    assert all(event.startswith("event: sample\ndata: {") for event in events)
