"""Test-only views the tunnel tests call in process (routed by tests/relay/tunnel_urls.py)."""

from __future__ import annotations

import asyncio
import hashlib

from django.http import HttpRequest, JsonResponse, StreamingHttpResponse

# The SSE test hands the view a fresh Event per step (bound to the test's loop).
sse_gate: dict[str, asyncio.Event | int] = {}


def echo_headers(request: HttpRequest) -> JsonResponse:
    """The headers, method and path the view saw, and the tunnel device it was told about."""
    device = getattr(request, "pulse_device", None)
    return JsonResponse(
        {
            "method": request.method,
            "path": request.path,
            "query": request.META.get("QUERY_STRING", ""),
            "host": request.get_host(),
            "secure": request.is_secure(),
            "headers": {name.lower(): value for name, value in request.headers.items()},
            "device": None if device is None else {"id": device.device_id, "name": device.name},
        }
    )


def body_sha256(request: HttpRequest) -> JsonResponse:
    """Hash the request body, read in chunks (request.body would refuse past 2.5 MB)."""
    digest = hashlib.sha256()
    size = 0
    while chunk := request.read(1 << 16):
        digest.update(chunk)
        size += len(chunk)
    return JsonResponse({"sha256": digest.hexdigest(), "size": size})


async def download(request: HttpRequest) -> StreamingHttpResponse:
    """``?size=N`` bytes of a repeating pattern, produced 256 KiB at a time."""
    size = int(request.GET["size"])
    block = bytes(range(256)) * 1024

    async def chunks():
        left = size
        while left > 0:
            piece = block if left >= len(block) else block[:left]
            left -= len(piece)
            yield piece

    response = StreamingHttpResponse(chunks(), content_type="application/octet-stream")
    response["Content-Length"] = str(size)
    return response


async def gated_events(request: HttpRequest) -> StreamingHttpResponse:
    """``?count=N`` SSE events; after each one, wait for the test to open the gate."""
    count = int(request.GET["count"])

    async def events():
        try:
            for index in range(count):
                sse_gate["produced"] = index + 1
                yield f"event: tick\ndata: {index}\n\n".encode()
                if index + 1 < count:
                    gate = sse_gate["gate"]
                    await gate.wait()
                    gate.clear()
        finally:
            sse_gate["finished"] = True

    return StreamingHttpResponse(events(), content_type="text/event-stream")


async def slow(request: HttpRequest) -> JsonResponse:
    """Answer after ``?seconds=``."""
    await asyncio.sleep(float(request.GET["seconds"]))
    return JsonResponse({"slept": True})
