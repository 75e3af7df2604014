"""A tunnelled event stream whose channel is lost is opened again with Last-Event-ID and goes
on from the next event, as a browser's EventSource would; without ids or when resuming keeps
failing, the error says so."""

from __future__ import annotations

import pytest

from relayclient import ClientError


def numbered_events(cut_after: dict):
    """Serves events n, n+1, ... from after Last-Event-ID; loses the channel after
    ``cut_after[k]`` events on the k-th stream (missing key: never)."""
    seen = {"streams": 0, "last_ids": []}

    async def handler(stream):
        seen["streams"] += 1
        last = dict(stream.request.headers).get("last-event-id")
        seen["last_ids"].append(last)
        start = int(last) + 1 if last is not None else 0
        await stream.send_response(200, [("content-type", "text/event-stream")])
        await stream.write(b"retry: 50\n\n")
        for n in range(start, 10):
            await stream.write(f"id: {n}\ndata: event {n}\n\n".encode())
            if n - start + 1 == cut_after.get(seen["streams"]):
                await stream.write(b"id: 99\ndata: half an ev")  # cut mid-event
                await stream.session.outer.close("PEER_GONE")
                return
        await stream.end()

    return handler, seen


async def test_a_lost_stream_resumes_from_the_last_event_id(paired, instance):
    instance.handler, seen = numbered_events({1: 3, 2: 2})
    events = await paired.sse(None, "/api/events")
    got = [event.data async for event in events]
    assert got == [f"event {n}" for n in range(10)]  # nothing lost, nothing twice
    assert seen["last_ids"] == [None, "2", "4"]
    assert events.resumed == 2


async def test_without_resume_the_loss_is_channel_lost(paired, instance):
    instance.handler, seen = numbered_events({1: 3})
    events = await paired.sse(None, "/api/events", resume=False)
    with pytest.raises(ClientError) as caught:
        async for _event in events:
            pass
    assert caught.value.code == "CHANNEL_LOST"
    assert seen["streams"] == 1


async def test_a_stream_that_keeps_dying_fails_and_says_it_tried(paired, instance):
    streams = []

    async def handler(stream):
        streams.append(dict(stream.request.headers).get("last-event-id"))
        await stream.send_response(200, [("content-type", "text/event-stream")])
        if len(streams) == 1:
            await stream.write(b"retry: 20\nid: 7\ndata: the only event\n\n")
        await stream.session.outer.close("PEER_GONE")  # then every stream dies at once

    instance.handler = handler
    events = await paired.sse(None, "/api/events")
    received = []
    with pytest.raises(ClientError) as caught:
        async for event in events:
            received.append(event.data)
    assert caught.value.code == "CHANNEL_LOST"
    assert "5 attempts in a row to resume it with Last-Event-ID '7'" in caught.value.message
    assert received == ["the only event"]
    assert streams == [None] + ["7"] * 5
