"""A channel that dies under a request before its answer began: an idempotent request with a
replayable body is sent once more over a fresh channel; anything else fails with the error,
and a second loss says that it was retried."""

from __future__ import annotations

import pytest

from relayclient import ClientError


def dies_first(times: int):
    """A handler whose first ``times`` calls lose the channel before answering."""
    calls = {"n": 0, "bodies": []}

    async def handler(stream):
        calls["n"] += 1
        calls["bodies"].append(await stream.read_all())
        if calls["n"] <= times:
            await stream.session.outer.close("PEER_GONE")  # the instance's worker went away
            return
        await stream.send_response(200)
        await stream.write(b"answer %d" % calls["n"])
        await stream.end()

    return handler, calls


async def test_a_get_whose_channel_died_is_retried_once_over_a_new_channel(paired, instance, relay):
    instance.handler, calls = dies_first(1)
    before = relay.channels_opened
    response = await paired.request(None, "GET", "/status")
    assert response.status == 200
    assert await response.read() == b"answer 2"
    assert calls["n"] == 2
    assert relay.channels_opened == before + 2


async def test_a_put_with_a_bytes_body_is_sent_again_whole(paired, instance):
    instance.handler, calls = dies_first(1)
    response = await paired.request(None, "PUT", "/notes/1", body=b"the same body")
    assert response.status == 200
    assert calls["bodies"] == [b"the same body", b"the same body"]


async def test_a_post_is_never_sent_twice(paired, instance):
    instance.handler, calls = dies_first(1)
    with pytest.raises(ClientError) as caught:
        await paired.request(None, "POST", "/notes", body=b"once")
    assert caught.value.code == "CHANNEL_LOST"
    assert calls["n"] == 1
    assert "retried" not in caught.value.message


async def test_a_streamed_upload_is_not_replayed(paired, instance):
    instance.handler, calls = dies_first(1)

    async def chunks():
        yield b"part"

    with pytest.raises(ClientError) as caught:
        await paired.request(None, "PUT", "/upload", body=chunks())
    assert caught.value.code == "CHANNEL_LOST"
    assert calls["n"] == 1


async def test_a_second_loss_fails_and_says_it_was_retried(paired, instance):
    instance.handler, calls = dies_first(2)
    with pytest.raises(ClientError) as caught:
        await paired.request(None, "GET", "/status")
    assert caught.value.code == "CHANNEL_LOST"
    assert "retried once over a fresh channel" in caught.value.message
    assert calls["n"] == 2
