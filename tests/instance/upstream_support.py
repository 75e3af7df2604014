"""A tiny local upstream for the tunnel tests: a raw ASGI app served by uvicorn on 127.0.0.1:0."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import socket
from collections.abc import AsyncIterator

import uvicorn

# The SSE endpoint waits on this gate after each event (set by the test, per loop).
state: dict = {}


async def _read_body(receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        yield message.get("body", b"")
        if not message.get("more_body"):
            return


async def _respond(send, status: int, body: bytes, content_type: str = "application/json"):
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type.encode()), (b"x-upstream", b"yes")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def upstream_app(scope, receive, send) -> None:
    """Endpoints: /headers, /sha256, /events?count=N, /slow?seconds=S, /download, ws /ws/echo."""
    if scope["type"] == "lifespan":
        return
    path = scope["path"]
    query = dict(
        pair.split("=", 1) for pair in scope["query_string"].decode().split("&") if "=" in pair
    )
    if scope["type"] == "websocket":
        await _echo_socket(scope, receive, send)
    elif path == "/headers":
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        await _respond(send, 200, json.dumps({"headers": headers, "path": path}).encode())
    elif path == "/sha256":
        digest, size = hashlib.sha256(), 0
        async for chunk in _read_body(receive):
            digest.update(chunk)
            size += len(chunk)
        await _respond(send, 200, json.dumps({"sha256": digest.hexdigest(), "size": size}).encode())
    elif path == "/events":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        count = int(query["count"])
        for index in range(count):
            state["produced"] = index + 1
            await send(
                {
                    "type": "http.response.body",
                    "body": f"data: {index}\n\n".encode(),
                    "more_body": index + 1 < count,
                }
            )
            if index + 1 < count:
                await state["gate"].wait()
                state["gate"].clear()
    elif path == "/slow":
        await asyncio.sleep(float(query["seconds"]))
        await _respond(send, 200, b"{}")
    elif path == "/head-then-drop":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("the upstream fails mid-body")
    else:
        await _respond(send, 404, b'{"detail": "not found"}')


async def _echo_socket(scope, receive, send) -> None:
    message = await receive()
    assert message["type"] == "websocket.connect"
    if scope["path"] != "/ws/echo":
        await send({"type": "websocket.close", "code": 1008})
        return
    protocols = scope.get("subprotocols") or []
    await send({"type": "websocket.accept", "subprotocol": protocols[0] if protocols else None})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            state["disconnect_code"] = message.get("code")
            return
        text = message.get("text")
        if text is not None and text.startswith("close:"):
            await send({"type": "websocket.close", "code": int(text[6:]), "reason": "upstream"})
            return
        if text is not None:
            await send({"type": "websocket.send", "text": text})
        else:
            await send({"type": "websocket.send", "bytes": message.get("bytes")})


@contextlib.asynccontextmanager
async def running_upstream(app=upstream_app) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port for the block; yields its http:// URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning", ws="websockets-sansio")
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


@contextlib.asynccontextmanager
async def garbage_server() -> AsyncIterator[str]:
    """A server that answers any request with bytes that are not HTTP."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(b"this is not HTTP at all\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def free_port_url() -> str:
    """An http:// URL on a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"
