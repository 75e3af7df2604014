"""HTTP through the channel: heads and bodies both ways, streamed, with bounded memory."""

from __future__ import annotations

import hashlib
import tracemalloc

import pytest

from relayclient import ClientError

MIB = 1 << 20


async def test_request_head_and_body_reach_the_instance_and_the_response_comes_back(
    paired, instance
):
    seen = {}

    async def handler(stream):
        seen["head"] = stream.request
        seen["body"] = await stream.read_all()
        await stream.send_response(201, [("content-type", "text/plain"), ("x-id", "7")])
        await stream.write(b"created")
        await stream.end()

    instance.handler = handler
    response = await paired.request(
        None, "post", "/api/notes?x=1", body=b'{"a":1}', headers=[("Content-Type", "json")]
    )
    assert response.status == 201
    assert response.header("X-Id") == "7"
    assert await response.read() == b"created"
    head = seen["head"]
    assert (head.method, head.path) == ("POST", "/api/notes?x=1")
    assert ("content-type", "json") in head.headers
    assert ("content-length", "7") in head.headers
    assert seen["body"] == b'{"a":1}'


async def test_a_request_without_body_ends_with_its_open(paired, instance):
    async def handler(stream):
        assert stream.request.end_stream
        await stream.send_response(200, end=True)

    instance.handler = handler
    async with await paired.request(None, "GET", "/") as response:
        assert response.status == 200
        assert await response.read() == b""


async def test_a_64_mib_download_streams_with_bounded_memory(paired, instance):
    block = bytes(range(256)) * 1024  # 256 KiB, reused: the server side allocates little

    async def handler(stream):
        await stream.send_response(200)
        for _ in range(256):
            await stream.write(block)
        await stream.end()

    instance.handler = handler
    digest, size = hashlib.sha256(), 0
    tracemalloc.start()
    try:
        response = await paired.request(None, "GET", "/big")
        async for chunk in response.iter_bytes():
            digest.update(chunk)
            size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size == 64 * MIB
    assert digest.hexdigest() == hashlib.sha256(block * 256).hexdigest()
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB for a 64 MiB download"


async def test_a_20_mib_upload_from_an_async_iterable_streams_with_bounded_memory(paired, instance):
    async def handler(stream):
        digest, size = hashlib.sha256(), 0
        while chunk := await stream.read():
            digest.update(chunk)
            size += len(chunk)
        await stream.send_response(200)
        await stream.write(f"{size} {digest.hexdigest()}".encode())
        await stream.end()

    async def source():
        for index in range(80):
            yield bytes([index]) * (256 * 1024)

    instance.handler = handler
    expected = hashlib.sha256(b"".join(bytes([i]) * (256 * 1024) for i in range(80)))
    tracemalloc.start()
    try:
        response = await paired.request(None, "PUT", "/upload", body=source())
        answer = await response.read()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer.decode() == f"{20 * MIB} {expected.hexdigest()}"
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB for a 20 MiB upload"


async def test_an_early_answer_stops_a_large_upload(paired, instance):
    async def handler(stream):
        await stream.send_response(413, end=True)

    async def endless():
        while True:
            yield b"x" * 65536

    instance.handler = handler
    response = await paired.request(None, "POST", "/upload", body=endless())
    assert response.status == 413
    assert await response.read() == b""


async def test_a_failing_body_source_surfaces_its_own_error(paired, instance):
    async def handler(stream):
        await stream.read_all()
        await stream.send_response(200, end=True)

    async def broken():
        yield b"first"
        raise OSError("disk gone")

    instance.handler = handler
    with pytest.raises(OSError, match="disk gone"):
        await paired.request(None, "POST", "/upload", body=broken())


async def test_a_reset_from_the_instance_is_a_stream_reset_error(paired, instance):
    async def handler(stream):
        raise RuntimeError("upstream exploded")

    instance.handler = handler
    with pytest.raises(ClientError) as caught:
        await paired.request(None, "GET", "/")
    assert caught.value.code == "STREAM_RESET"
    assert "INTERNAL" in caught.value.message


async def test_a_path_without_slash_is_an_invalid_argument(paired):
    with pytest.raises(ClientError) as caught:
        await paired.request(None, "GET", "api")
    assert caught.value.code == "INVALID_ARGUMENT"


async def test_each_request_uses_a_fresh_channel(paired, instance, relay):
    async def handler(stream):
        await stream.send_response(200, end=True)

    instance.handler = handler
    before = relay.channels_opened
    for _ in range(3):
        await (await paired.request(None, "GET", "/")).aclose()
    assert relay.channels_opened == before + 3


async def test_a_body_cut_off_mid_way_is_channel_lost_never_a_short_success(paired, instance):
    async def handler(stream):
        await stream.send_response(200)
        await stream.write(b"x" * 100_000)
        await stream.session.outer.close("PEER_GONE")  # the relay loses the instance's socket

    instance.handler = handler
    response = await paired.request(None, "GET", "/big")
    received = 0
    with pytest.raises(ClientError) as caught:
        async for chunk in response.iter_bytes():
            received += len(chunk)
    assert caught.value.code == "CHANNEL_LOST"
    assert received <= 100_000


async def test_read_with_a_limit_refuses_a_larger_body(paired, instance):
    async def handler(stream):
        await stream.send_response(200)
        await stream.write(b"x" * 5000)
        await stream.end()

    instance.handler = handler
    response = await paired.request(None, "GET", "/")
    with pytest.raises(ClientError) as caught:
        await response.read(limit=1000)
    assert caught.value.code == "BODY_TOO_LARGE"
