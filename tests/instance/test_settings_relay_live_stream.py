"""Settings → Relay stays live: an event stream sends every part first, then what changed."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import AsyncClient

from instance import live, pages


def test_changes_reports_only_parts_whose_json_differs():
    sent: dict[str, str] = {}
    first = live.changes(sent, {"relay": {"state": "connected"}, "devices": []})
    assert [name for name, _ in first] == ["relay", "devices"]
    assert live.changes(sent, {"relay": {"state": "connected"}, "devices": []}) == []
    again = live.changes(sent, {"relay": {"state": "backoff"}, "devices": []})
    assert again == [("relay", '{"state":"backoff"}')]


def test_a_broken_part_reports_its_error_and_spares_the_others(monkeypatch):
    def broken():
        raise RuntimeError("store away")

    monkeypatch.setitem(live._parts, "broken", broken)
    data = live.snapshot()
    assert data["broken"] == {"error": "RuntimeError: store away"}
    assert "relay" in data


def test_every_home_part_is_registered():
    assert live.names()[:4] == ["relay", "devices", "pairings", "audit"]


async def read_events(response, count: int, timeout: float = 5.0) -> list[tuple[str, dict]]:
    found: list[tuple[str, dict]] = []
    buffer = ""
    iterator = response.streaming_content.__aiter__()
    while len(found) < count:
        chunk = await asyncio.wait_for(iterator.__anext__(), timeout)
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if "event" in lines:
                found.append((lines["event"], json.loads(lines["data"])))
    return found


@pytest.fixture
async def owner_async_client(transactional_db, data_dir):
    user = await sync_to_async(get_user_model().objects.create_superuser)(
        "owner", "", "pw-12345678"
    )
    client = AsyncClient()
    await client.aforce_login(user)
    return client


async def test_the_stream_sends_each_part_then_the_change(owner_async_client, monkeypatch):
    monkeypatch.setattr(pages, "STREAM_POLL_SECONDS", 0.05)
    response = await owner_async_client.get("/settings/relay/events")
    assert response["Content-Type"] == "text/event-stream"
    first = dict(await read_events(response, 4))
    assert set(first) == {"relay", "devices", "pairings", "audit"}
    assert first["relay"]["state"] == "disabled"
    from instance import relay_settings

    await sync_to_async(relay_settings.update)(server_url="wss://relay.example.org")
    (name, relay), *_ = await read_events(response, 1)
    assert name == "relay" and relay["server_url"] == "wss://relay.example.org"


async def test_strangers_get_no_stream(transactional_db):
    response = await AsyncClient().get("/settings/relay/events")
    assert response.status_code == 403
