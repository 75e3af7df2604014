"""A local service for end-to-end tests, reached through the tunnel (PULSE_RELAY_UPSTREAM).

Plain ASGI, served by uvicorn in its own process: bulk download, upload digest, SSE paced by
the test, header echo, a marker string, and a WebSocket echo.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from urllib.parse import parse_qs

MARKER = b"UPSTREAM-SECRET-MARKER-7f3c9a"
CHUNK = 256 * 1024

_acks: dict[int, asyncio.Event] = {}


def pattern(index: int) -> bytes:
    """Deterministic chunk ``index`` of a download."""
    seed = hashlib.sha256(index.to_bytes(8, "big")).digest()
    return seed * (CHUNK // len(seed))


def _ack(index: int) -> asyncio.Event:
    return _acks.setdefault(index, asyncio.Event())


async def _respond(send, status: int, body: bytes, content_type: str = "application/json"):
    await send(
        {"type": "http.response.start", "status": status,
         "headers": [(b"content-type", content_type.encode())]}
    )  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send):
    """Route by path."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    query = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
    path = scope["path"]
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text and text.startswith("close:"):
                await send({"type": "websocket.close", "code": int(text.split(":")[1])})
                return
            if text is not None:
                await send({"type": "websocket.send", "text": text})
            else:
                await send({"type": "websocket.send", "bytes": message["bytes"]})
    if path == "/download":
        count = int(query["size"]) // CHUNK
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/octet-stream")]})  # fmt: skip
        for index in range(count):
            await send({"type": "http.response.body", "body": pattern(index), "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/upload":
        digest, size = hashlib.sha256(), 0
        while True:
            message = await receive()
            digest.update(message.get("body", b""))
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await _respond(send, 200, json.dumps({"size": size, "sha256": digest.hexdigest()}).encode())
    elif path == "/events":
        count = int(query["count"])
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})  # fmt: skip
        for index in range(count):
            if index:
                # The next event is produced only after the test saw the previous one.
                await asyncio.wait_for(_ack(index - 1).wait(), 30)
            body = f"id: {index}\nevent: tick\ndata: {index}\n\n".encode()
            await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/ack":
        _ack(int(query["i"])).set()
        await _respond(send, 204, b"")
    elif path == "/headers":
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        await _respond(send, 200, json.dumps(headers).encode())
    elif path == "/marker":
        await _respond(send, 200, MARKER, "text/plain")
    else:
        await _respond(send, 404, b"{}")
