"""WebSockets through the channel: text and binary echo, close codes, refusal."""

from __future__ import annotations

import pytest

from relayclient import ClientError


async def echo(stream):
    """Instance handler: accept, echo every message, answer the close."""
    await stream.send_response(101)
    while (message := await stream.receive_ws()) is not None:
        await stream.send_ws(message)
    await stream.close_ws(stream.ws_close.code, "bye")


async def test_text_and_binary_messages_echo_and_close_codes_travel(paired, instance):
    instance.handler = echo
    socket = await paired.websocket(None, "/ws/echo")
    await socket.send("hello")
    await socket.send(b"\x00\x01" * 100_000)
    assert await socket.receive() == "hello"
    assert await socket.receive() == b"\x00\x01" * 100_000
    await socket.close(4001, "done")
    assert socket.close_code == 4001
    assert socket.close_reason == "bye"


async def test_iterating_ends_when_the_instance_closes(paired, instance):
    async def two_then_close(stream):
        await stream.send_response(101)
        await stream.send_ws("one")
        await stream.send_ws("two")
        await stream.close_ws(1000, "finished")

    instance.handler = two_then_close
    async with await paired.websocket(None, "/ws/feed") as socket:
        assert [message async for message in socket] == ["one", "two"]
        assert socket.close_code == 1000


async def test_a_refused_websocket_is_websocket_refused(paired, instance):
    async def refuse(stream):
        await stream.send_response(403, end=True)

    instance.handler = refuse
    with pytest.raises(ClientError) as caught:
        await paired.websocket(None, "/ws/private")
    assert caught.value.code == "WEBSOCKET_REFUSED" and caught.value.status == 403
