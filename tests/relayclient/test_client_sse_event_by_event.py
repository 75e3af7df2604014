"""Server-sent events arrive one by one, each as soon as its blank line has been sent."""

from __future__ import annotations

import asyncio

import pytest

from relayclient import ClientError


async def test_each_event_is_delivered_before_the_next_is_sent(paired, instance):
    received: list = []
    delivered = [asyncio.Event() for _ in range(3)]

    async def handler(stream):
        assert stream.request.kind.name == "SSE"
        assert ("accept", "text/event-stream") in stream.request.headers
        await stream.send_response(200, [("content-type", "text/event-stream")])
        await stream.write(b": keep-alive\n\n")
        for index in range(3):
            # One event split across writes: nothing may be delivered before its blank line.
            await stream.write(f"event: tick\nid: {index}\ndata: n={index}\n".encode())
            await asyncio.sleep(0.01)
            assert len(received) == index
            await stream.write(b"\n")
            await asyncio.wait_for(delivered[index].wait(), 2)
        await stream.end()

    instance.handler = handler
    events = await paired.sse(None, "/api/events")
    async for event in events:
        received.append(event)
        delivered[len(received) - 1].set()
    assert [(e.event, e.id, e.data) for e in received] == [
        ("tick", "0", "n=0"),
        ("tick", "1", "n=1"),
        ("tick", "2", "n=2"),
    ]
    assert events.last_event_id == "2"


async def test_last_event_id_is_sent_when_resuming(paired, instance):
    seen = []

    async def handler(stream):
        seen.append(dict(stream.request.headers).get("last-event-id"))
        await stream.send_response(200, [("content-type", "text/event-stream")], end=True)

    instance.handler = handler
    async with await paired.sse(None, "/api/events", last_event_id="41") as events:
        assert [event async for event in events] == []
    assert seen == ["41"]


async def test_a_non_200_answer_is_an_http_status_error_with_the_body(paired, instance):
    async def handler(stream):
        await stream.send_response(404, [("content-type", "text/plain")])
        await stream.write(b"no such feed")
        await stream.end()

    instance.handler = handler
    with pytest.raises(ClientError) as caught:
        await paired.sse(None, "/api/missing")
    assert caught.value.code == "HTTP_STATUS" and caught.value.status == 404
    assert "no such feed" in caught.value.message


async def test_a_response_of_another_type_is_not_an_event_stream(paired, instance):
    async def handler(stream):
        await stream.send_response(200, [("content-type", "application/json")], end=True)

    instance.handler = handler
    with pytest.raises(ClientError) as caught:
        await paired.sse(None, "/api/events")
    assert caught.value.code == "NOT_EVENT_STREAM"
