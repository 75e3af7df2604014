"""Right after a pairing that needed no approval, the instance's relay may not list the new
device's routing token yet (it learns it within about a second): the first calls retry
UNAUTHORIZED for a few seconds instead of failing with UNKNOWN_DEVICE."""

from __future__ import annotations

import asyncio
import datetime
import json

import pytest

from relayclient import ClientError


async def test_a_call_just_after_an_active_pairing_waits_for_the_relay(paired, instance, relay):
    async def handler(stream):
        await stream.send_response(200, end=True)

    instance.handler = handler
    relay.refuse = "UNAUTHORIZED"  # the relay's list lacks the new device for a moment
    loop = asyncio.get_running_loop()
    loop.call_later(0.8, setattr, relay, "refuse", None)
    response = await paired.request(None, "GET", "/")
    assert response.status == 200


async def test_later_an_unlisted_device_is_unknown_at_once(paired, relay, state_file):
    stored = json.loads(state_file.path.read_text())
    long_ago = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC).isoformat(timespec="seconds")
    for server in stored["servers"].values():
        server["paired_at"] = long_ago
    state_file.path.write_text(json.dumps(stored))
    relay.refuse = "UNAUTHORIZED"
    with pytest.raises(ClientError) as caught:
        await paired.request(None, "GET", "/")
    assert caught.value.code == "UNKNOWN_DEVICE"
