"""The upstream target: a local HTTP service (PULSE_RELAY_UPSTREAM), over httpx and websockets.

Bodies stream both ways: the request body is an async iterator fed from the phone's stream as
the upstream reads it, and the response is forwarded with ``aiter_raw`` chunk by chunk (so
server-sent events go out as they arrive and Content-Encoding passes through untouched).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from instance.tunnel.common import (
    Headers,
    PeerGone,
    RequestBody,
    ResponseWriter,
    TunnelError,
    UpstreamFailed,
    UpstreamTimeout,
    UpstreamUnavailable,
    response_headers,
    sendable_close_code,
    wait_for_head,
    wait_for_reset,
)
from relayproto.errors import ProtocolError
from relayproto.inner import ResetCode
from relayproto.session import Stream

log = logging.getLogger(__name__)

# websockets' default; a message must also fit the phone's stream window to be sent at all.
MAX_WS_MESSAGE = 1 << 20


def upstream_problem(url: str) -> str:
    """Why ``url`` cannot be an upstream ("" when it can)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"PULSE_RELAY_UPSTREAM={url!r} is not an http:// or https:// URL"
    if parts.query or parts.fragment:
        return f"PULSE_RELAY_UPSTREAM={url!r} must not have a query or fragment"
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return f"PULSE_RELAY_UPSTREAM={url!r} has an invalid port"
    return ""


class Upstream:
    """A local HTTP(S) service that tunnelled requests are sent to."""

    def __init__(self, url: str, timeout: float) -> None:
        problem = upstream_problem(url)
        if problem:
            raise ValueError(problem + ": use e.g. http://127.0.0.1:7655")
        self.base = url.rstrip("/")
        self.ws_base = "ws" + self.base[4:]  # http → ws, https → wss
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        """The shared connection pool, made on first use (inside the running loop)."""
        if self._client is None:
            # No read timeout: an SSE stream may be quiet for minutes. The head has its own
            # deadline (wait_for_head); connect, write and pool waits use the same value.
            timeout = httpx.Timeout(self.timeout, read=None)
            self._client = httpx.AsyncClient(
                timeout=timeout, trust_env=False, follow_redirects=False
            )
        return self._client

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- HTTP --------------------------------------------------------------------------------
    async def serve_http(
        self,
        stream: Stream,
        method: str,
        target: str,
        headers: Headers,
        body: RequestBody,
        writer: ResponseWriter,
    ) -> None:
        """Forward one HTTP exchange, streaming both bodies."""
        # httpx.Request directly, not client.build_request: the client's default headers
        # (accept-encoding, user-agent) would ask the upstream for things the phone did not.
        request = httpx.Request(
            method,
            self.base + target,
            headers=headers,
            content=None if body.done else body.chunks(),
        )
        sending = asyncio.ensure_future(self.client().send(request, stream=True))
        try:
            await wait_for_head(sending, body.finished, asyncio.Event(), self.timeout)
            response = sending.result()
        except (TunnelError, PeerGone):
            raise
        except httpx.HTTPError as exc:
            raise self._error(exc) from exc
        finally:
            if not sending.done():
                sending.cancel()
        try:
            await self._forward_response(stream, response, body, writer)
        finally:
            await response.aclose()

    async def _forward_response(
        self, stream: Stream, response: httpx.Response, body: RequestBody, writer: ResponseWriter
    ) -> None:
        await writer.head(response.status_code, response_headers(response.headers.raw))
        pump = asyncio.ensure_future(self._pump(response, writer))
        # A quiet SSE stream must end when the phone gives up, not at the next event.
        watcher = asyncio.ensure_future(wait_for_reset(stream, body))
        try:
            await asyncio.wait({pump, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if not pump.done():
                raise PeerGone("the phone reset the stream")
            pump.result()
        finally:
            for task in (pump, watcher):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump

    async def _pump(self, response: httpx.Response, writer: ResponseWriter) -> None:
        try:
            async for chunk in response.aiter_raw():
                await writer.body(chunk)
        except httpx.HTTPError as exc:
            raise self._error(exc) from exc
        await writer.end()

    def _error(self, exc: httpx.HTTPError) -> TunnelError:
        where = self.base
        if isinstance(exc, httpx.TimeoutException):
            return UpstreamTimeout(
                f"the upstream {where} timed out ({type(exc).__name__}): check the service, "
                "or raise PULSE_RELAY_UPSTREAM_TIMEOUT"
            )
        if isinstance(exc, httpx.ConnectError):
            return UpstreamFailed(
                f"the upstream {where} refused the connection: is the service running there?"
            )
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return UpstreamUnavailable(f"the upstream URL cannot be used ({exc}): fix it")
        return UpstreamFailed(f"the upstream {where} failed ({type(exc).__name__}: {exc})")

    # -- WebSocket ---------------------------------------------------------------------------
    async def serve_websocket(
        self, stream: Stream, target: str, headers: Headers, writer: ResponseWriter
    ) -> None:
        """Forward one WebSocket to the upstream's ws:// (or wss://) URL."""
        protocols = [
            p.strip()
            for name, value in headers
            if name == "sec-websocket-protocol"
            for p in value.split(",")
            if p.strip()
        ]
        extra = [(n, v) for n, v in headers if n not in ("sec-websocket-protocol", "origin")]
        origin = next((v for n, v in headers if n == "origin"), None)
        try:
            upstream = await connect(
                self.ws_base + target,
                origin=origin,
                subprotocols=protocols or None,
                additional_headers=extra,
                user_agent_header=None,
                proxy=None,
                compression=None,  # loopback: deflate only costs CPU
                open_timeout=self.timeout,
                max_size=MAX_WS_MESSAGE,
            )
        except InvalidStatus as exc:
            refused = exc.response
            # The upstream refused the upgrade: the phone gets its answer as it was.
            await writer.head(refused.status_code, response_headers(refused.headers.raw_items()))
            await writer.body(refused.body or b"")
            await writer.end()
            return
        except TimeoutError as exc:
            raise UpstreamTimeout(
                f"the upstream {self.ws_base} did not accept the WebSocket within "
                f"{self.timeout:g} s: check the service, or raise PULSE_RELAY_UPSTREAM_TIMEOUT"
            ) from exc
        except OSError as exc:
            raise UpstreamFailed(
                f"the upstream {self.ws_base} refused the connection: is the service running?"
            ) from exc
        except InvalidHandshake as exc:
            raise UpstreamFailed(f"the upstream's WebSocket handshake failed: {exc}") from exc
        try:
            accepted = [("sec-websocket-protocol", upstream.subprotocol)]
            await writer.head(101, accepted if upstream.subprotocol else [])
            await _relay_websocket(stream, upstream)
        finally:
            await upstream.close()


async def _relay_websocket(stream: Stream, upstream: ClientConnection) -> None:
    """Carry messages both ways until either side closes; closes and codes go across."""
    state = {"phone_closed": False, "sent_close": False}

    async def phone_to_upstream() -> None:
        while (message := await stream.receive_ws()) is not None:
            try:
                await upstream.send(message)
            except ConnectionClosed:
                return
        state["phone_closed"] = True
        close = stream.ws_close
        code = close.code if close is not None else 1000
        await upstream.close(code, close.reason if close is not None else "")

    async def upstream_to_phone() -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in upstream:
                await stream.send_ws(message)

    inbound = asyncio.ensure_future(phone_to_upstream())
    outbound = asyncio.ensure_future(upstream_to_phone())
    try:
        await asyncio.wait({inbound, outbound}, return_when=asyncio.FIRST_COMPLETED)
        if inbound.done() and inbound.exception() is not None:
            raise PeerGone(str(inbound.exception()))
        await outbound  # ends when the upstream's close arrives (or its echo of the phone's)
        code = upstream.close_code
        reason = upstream.close_reason or ""
        if code is None or code == 1006:
            await stream.reset(ResetCode.UPSTREAM_ERROR, "the upstream WebSocket dropped")
            return
        with contextlib.suppress(ProtocolError):
            await stream.close_ws(
                sendable_close_code(code), reason.encode()[:123].decode(errors="ignore")
            )
        if not state["phone_closed"]:
            # Wait for the phone's echo so the stream closes cleanly both ways.
            with contextlib.suppress(TimeoutError, ProtocolError):
                await asyncio.wait_for(inbound, timeout=10)
    finally:
        for task in (inbound, outbound):
            task.cancel()
        await asyncio.gather(inbound, outbound, return_exceptions=True)
