"""The in-process target: the instance's own Django app, called over ASGI without a socket.

HTTP goes to the plain Django handler (``relayproject.asgi.django_asgi_app``): each
``http.response.body`` message is forwarded to the phone as it is sent, so streaming and
server-sent-event responses flow chunk by chunk. Django itself reads the whole request body
into a SpooledTemporaryFile (on disk past FILE_UPLOAD_MAX_MEMORY_SIZE) before it calls the
view; the tunnel feeds it at the phone's pace. WebSockets go to the Channels router of the
project (``relayproject.asgi.application``), so the consumers of relay/routing.py answer them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote

from django.conf import settings

from instance.tunnel.common import (
    Headers,
    PeerGone,
    RequestBody,
    ResponseWriter,
    TunnelError,
    UpstreamFailed,
    response_headers,
    sendable_close_code,
    wait_for_head,
    wait_for_reset,
)
from relayproto.errors import ProtocolError
from relayproto.session import Stream

log = logging.getLogger(__name__)

ASGIApp = Callable[[MutableMapping[str, Any], Callable, Callable], Awaitable[None]]
CLIENT = ("relay-tunnel", 0)
MAX_CLOSE_REASON = 123  # bytes, the WS_CLOSE limit


class NoRoute(TunnelError):
    """No WebSocket route matches the path (404)."""

    status = 404


class Refused(TunnelError):
    """The app closed the WebSocket before accepting it (403, as ASGI servers answer)."""

    status = 403


def target_host() -> str:
    """A Host the instance's app accepts: the first plain ALLOWED_HOSTS entry, else localhost."""
    for pattern in settings.ALLOWED_HOSTS:
        host = pattern.lstrip(".")
        if host and host != "*" and not host.startswith("["):
            return host
    return "localhost"


def build_scope(scope_type: str, method: str, target: str, headers: Headers) -> dict:
    """An ASGI http or websocket scope for a tunnelled request (``target`` is path?query)."""
    raw_path, _, query = target.partition("?")
    host = target_host()
    all_headers = [("host", host), *headers]
    if scope_type == "websocket":
        # Browser routes sit behind AllowedHostsOriginValidator, which guards cookie sessions
        # against cross-site pages. A tunnelled socket carries no cookies, so it presents the
        # instance's own origin rather than whatever the phone claimed.
        all_headers = [(n, v) for n, v in all_headers if n != "origin"]
        all_headers.append(("origin", f"https://{host}"))
    scope: dict[str, Any] = {
        "type": scope_type,
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "scheme": "wss" if scope_type == "websocket" else "https",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": [(n.encode("latin-1"), v.encode("latin-1")) for n, v in all_headers],
        "client": CLIENT,
        "server": (host, 443),
    }
    if scope_type == "http":
        scope["method"] = method.upper()
    else:
        protocols = [v for n, v in headers if n == "sec-websocket-protocol"]
        scope["subprotocols"] = [p.strip() for v in protocols for p in v.split(",") if p.strip()]
    return scope


async def _finish_task(task: asyncio.Task) -> None:
    """Cancel the app if it still runs; a finished one was already awaited (and raised)."""
    if task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def serve_http(
    app: ASGIApp,
    stream: Stream,
    scope: dict,
    body: RequestBody,
    writer: ResponseWriter,
    timeout: float,
) -> None:
    """Run one HTTP exchange through the in-process app, streaming both bodies."""
    head = asyncio.Event()
    abort = asyncio.Event()
    body_delivered = False

    async def receive() -> dict:
        nonlocal body_delivered
        if not body_delivered:
            chunk = await body.read()
            body_delivered = body.done
            return {"type": "http.request", "body": chunk, "more_body": not body.done}
        # Django waits for a disconnect once the body is in; for the tunnel that is a reset,
        # or the tunnel itself giving up on the request.
        reset = asyncio.ensure_future(wait_for_reset(stream, body))
        aborting = asyncio.ensure_future(abort.wait())
        try:
            await asyncio.wait({reset, aborting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            reset.cancel()
            aborting.cancel()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            await writer.head(message["status"], response_headers(message.get("headers", ())))
            head.set()
        elif kind == "http.response.body":
            await writer.body(message.get("body", b""))
            if not message.get("more_body", False):
                await writer.end()

    task = asyncio.ensure_future(app(scope, receive, send))
    try:
        await wait_for_head(task, body.finished, head, timeout)
        await task
    except (TunnelError, PeerGone, asyncio.CancelledError):
        raise
    except Exception as exc:
        log.exception("the instance's app failed on %s %s", scope["method"], scope["path"])
        raise UpstreamFailed("the instance's app failed: see the instance's log") from exc
    finally:
        if not task.done():
            # A disconnect lets Django cancel the view and clean up its own tasks; cancelling
            # the handler outright would orphan them.
            abort.set()
            await asyncio.wait({task}, timeout=2)
        await _finish_task(task)
    if not writer.head_sent:
        raise UpstreamFailed("the instance's app sent no response")
    if not writer.ended:
        raise UpstreamFailed("the instance's app ended the response early")


async def serve_websocket(
    app: ASGIApp, stream: Stream, scope: dict, writer: ResponseWriter, timeout: float
) -> None:
    """Run one WebSocket through the in-process Channels router."""
    accepted = asyncio.Event()
    state = {"connected": False, "closed_by_app": False, "gone": False}

    async def receive() -> dict:
        if not state["connected"]:
            state["connected"] = True
            return {"type": "websocket.connect"}
        await accepted.wait()
        try:
            message = await stream.receive_ws()
        except ProtocolError:
            state["gone"] = True
            return {"type": "websocket.disconnect", "code": 1006}
        if message is None:
            code = stream.ws_close.code if stream.ws_close is not None else 1006
            return {"type": "websocket.disconnect", "code": code}
        if isinstance(message, str):
            return {"type": "websocket.receive", "text": message}
        return {"type": "websocket.receive", "bytes": message}

    async def send(message: dict) -> None:
        kind = message["type"]
        try:
            if kind == "websocket.accept":
                headers = response_headers(message.get("headers", ()))
                if message.get("subprotocol"):
                    headers.append(("sec-websocket-protocol", message["subprotocol"]))
                await writer.head(101, headers)
                accepted.set()
            elif kind == "websocket.send" and accepted.is_set():
                text = message.get("text")
                await stream.send_ws(text if text is not None else message.get("bytes") or b"")
            elif kind == "websocket.close":
                if not accepted.is_set():
                    raise Refused("the instance refused the WebSocket")
                if not state["closed_by_app"]:
                    state["closed_by_app"] = True
                    reason = message.get("reason") or ""
                    code = sendable_close_code(message.get("code", 1000), fallback=1011)
                    await stream.close_ws(code, _clip(reason))
        except ProtocolError as exc:
            state["gone"] = True
            raise PeerGone(str(exc)) from exc

    task = asyncio.ensure_future(app(scope, receive, send))
    try:
        no_body = asyncio.Event()
        no_body.set()  # a WebSocket handshake has no body: the clock starts at once
        await wait_for_head(task, no_body, accepted, timeout)
        await task
    except TunnelError as exc:
        if not accepted.is_set():
            raise
        raise UpstreamFailed(exc.reason) from exc
    except (PeerGone, asyncio.CancelledError):
        raise
    except ValueError as exc:
        if not accepted.is_set() and str(exc).startswith("No route found"):
            raise NoRoute(f"no WebSocket at {scope['path']} on this instance") from exc
        log.exception("the instance's WebSocket app failed on %s", scope["path"])
        raise UpstreamFailed("the instance's app failed: see the instance's log") from exc
    except Exception as exc:
        log.exception("the instance's WebSocket app failed on %s", scope["path"])
        raise UpstreamFailed("the instance's app failed: see the instance's log") from exc
    finally:
        await _finish_task(task)
    if not accepted.is_set():
        raise UpstreamFailed("the instance's app neither accepted nor refused the WebSocket")
    if not state["closed_by_app"] and not state["gone"]:
        # The app returned after the phone's close (Channels does): echo the phone's code.
        code = stream.ws_close.code if stream.ws_close is not None else 1011
        with contextlib.suppress(ProtocolError):
            await stream.close_ws(code, "")


def _clip(reason: str) -> str:
    data = reason.encode("utf-8")[:MAX_CLOSE_REASON]
    return data.decode("utf-8", errors="ignore")
