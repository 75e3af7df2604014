"""What every tunnel target shares: the calling device, header rules, the request body, errors.

The tunnel (relay/tunnel.py) answers each stream a paired phone opens by calling the instance's
own Django app in process (relay/tunnel_asgi.py) or a local upstream over HTTP
(relay/tunnel_upstream.py). Both stream in both directions and fail with the errors below,
which the tunnel turns into a status (before the response head) or a stream reset (after it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from relayproto.errors import ProtocolError
from relayproto.inner import ResetCode
from relayproto.session import Stream

# RFC 9110 §7.6.1 connection-specific fields, plus the legacy ones proxies still see.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# Only the tunnel may say where a request came from; a phone must not claim an address.
FORWARDING = frozenset({"forwarded", "x-real-ip"})
FORWARDING_PREFIX = "x-forwarded-"
# A phone authenticates with its channel, never with ambient credentials (see docs/security.md).
PHONE_CREDENTIALS = frozenset({"cookie", "authorization"})
# Negotiated per hop: the tunnel's own WebSocket client or ASGI scope does the handshake.
WEBSOCKET_HANDSHAKE = frozenset(
    {
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-accept",
    }
)
# Headers the tunnel sets itself; any the phone sends are dropped so they cannot be forged.
PULSE_PREFIX = "x-pulse-"
# The target's host is the tunnel's choice; "expect: 100-continue" is a per-hop negotiation.
PER_HOP_REQUEST = frozenset({"host", "expect"})

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class TunnelDevice:
    """The paired device a tunnelled request comes from."""

    device_id: str
    name: str


class TunnelError(Exception):
    """A request the tunnel cannot complete: a status before the head, a reset after it."""

    status = 502
    reset_code = ResetCode.UPSTREAM_ERROR

    def __init__(self, reason: str, headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.headers = list(headers)


class UpstreamFailed(TunnelError):
    """The upstream refused the connection, reset it or answered nonsense (502)."""


class UpstreamUnavailable(TunnelError):
    """No usable upstream: misconfigured, or the tunnel is shutting down (503)."""

    status = 503


class UpstreamTimeout(TunnelError):
    """The upstream did not answer (the response head) in time (504)."""

    status = 504
    reset_code = ResetCode.TIMEOUT


class RequestTooLarge(TunnelError):
    """The request body passed PULSE_RELAY_MAX_REQUEST_BYTES (413)."""

    status = 413
    reset_code = ResetCode.TOO_LARGE


class TrailersRefused(TunnelError):
    """The phone ended its request body with trailers, which the upstream client (httpx)
    cannot send: refused rather than dropped (400)."""

    status = 400
    reset_code = ResetCode.REFUSED


# A response header the tunnel adds when the target announced trailers (``Trailer:``): they
# cannot reach the phone (httpx does not expose a response's trailers), and it should know.
TRAILERS_DROPPED = "x-pulse-trailers-dropped"


class RateLimited(TunnelError):
    """The device is over PULSE_RELAY_DEVICE_REQUESTS_PER_MINUTE (429)."""

    status = 429
    reset_code = ResetCode.RATE_LIMITED


class PeerGone(Exception):
    """The phone reset the stream or the channel ended: there is nobody left to answer."""


def _connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    tokens: set[str] = set()
    for name, value in headers:
        if name == "connection":
            tokens.update(token.strip().lower() for token in value.split(",") if token.strip())
    return tokens


def _is_hop_by_hop(name: str, named: set[str]) -> bool:
    return name in HOP_BY_HOP or name in named


def request_headers(headers: Iterable[tuple[str, str]]) -> Headers:
    """The phone's headers for the target: no hop-by-hop, forwarding, credential, x-pulse-*."""
    pairs = [(name.lower(), value) for name, value in headers]
    named = _connection_tokens(pairs)
    return [
        (name, value)
        for name, value in pairs
        if not _is_hop_by_hop(name, named)
        and name not in FORWARDING
        and not name.startswith(FORWARDING_PREFIX)
        and name not in PHONE_CREDENTIALS
        and name not in WEBSOCKET_HANDSHAKE
        and name not in PER_HOP_REQUEST
        and not name.startswith(PULSE_PREFIX)
    ]


def response_headers(headers: Iterable[tuple[str | bytes, str | bytes]]) -> Headers:
    """The target's response headers for the phone: lowercase, latin-1, no hop-by-hop ones."""
    pairs = [
        (
            (name.decode("latin-1") if isinstance(name, bytes) else name).lower(),
            value.decode("latin-1") if isinstance(value, bytes) else value,
        )
        for name, value in headers
    ]
    named = _connection_tokens(pairs)
    kept = [
        (name, value)
        for name, value in pairs
        if not _is_hop_by_hop(name, named) and name not in WEBSOCKET_HANDSHAKE
    ]
    announced = [value for name, value in pairs if name == "trailer"]
    if announced:
        kept.append((TRAILERS_DROPPED, ", ".join(announced)))
    return kept


class RequestBody:
    """The phone's request body, read as the target consumes it and counted against a limit.

    Reading only as fast as the target takes the bytes is the back-pressure: the stream gives
    credit back to the phone as it is read, so nothing here buffers more than one chunk.
    """

    def __init__(self, stream: Stream, limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.received = 0
        self.finished = asyncio.Event()
        if stream.ended:
            self.finished.set()

    @property
    def done(self) -> bool:
        """Whether the phone's side of the request has ended."""
        return self.finished.is_set()

    async def read(self) -> bytes:
        """The next chunk; b"" at the end. Raises RequestTooLarge past the limit, PeerGone."""
        if self.finished.is_set():
            return b""
        try:
            chunk = await self.stream.read()
        except ProtocolError as exc:
            raise PeerGone(str(exc)) from exc
        if not chunk:
            self.finished.set()
            if self.stream.trailers:
                names = ", ".join(sorted({name for name, _ in self.stream.trailers}))
                raise TrailersRefused(
                    f"the request ended with trailers ({names}), which the tunnel cannot pass "
                    "to the instance's service: send them as headers"
                )
            return b""
        self.received += len(chunk)
        if self.received > self.limit:
            raise RequestTooLarge(
                f"request body over {self.limit} bytes: send less, or raise "
                "PULSE_RELAY_MAX_REQUEST_BYTES on the instance"
            )
        return chunk

    async def chunks(self) -> AsyncIterator[bytes]:
        """Iterate over the body's chunks."""
        while chunk := await self.read():
            yield chunk


async def wait_for_reset(stream: Stream, body: RequestBody) -> None:
    """Return once the phone resets the stream (or the channel ends) after its body ended.

    Only called once the body has been read to its end: from then on the only event an HTTP
    stream can still get from the phone is a reset, so reading the event queue here never takes
    anything a reader needs. (Stream has no public "wait for reset" yet; _next is the queue.)
    """
    await body.finished.wait()
    with contextlib.suppress(ProtocolError):
        while True:
            await stream._next()


class ResponseWriter:
    """Sends the response to the phone and remembers whether the head went out."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.head_sent = False
        self.ended = False

    async def head(self, status: int, headers: Headers, *, end: bool = False) -> None:
        """Send the response head (raises UpstreamFailed for a status the protocol forbids)."""
        if not (status == 101 or 200 <= status <= 599):
            raise UpstreamFailed(f"the upstream answered status {status}, which cannot be relayed")
        try:
            await self.stream.send_response(status, headers, end=end)
        except ProtocolError as exc:
            raise PeerGone(str(exc)) from exc
        self.head_sent = True
        self.ended = end

    async def body(self, data: bytes | bytearray | memoryview) -> None:
        """Send body bytes as soon as they come (waits for the phone's credit)."""
        if not data:
            return
        try:
            await self.stream.write(data)
        except ProtocolError as exc:
            raise PeerGone(str(exc)) from exc

    async def end(self) -> None:
        """End the response."""
        if self.ended:
            return
        try:
            await self.stream.end()
        except ProtocolError as exc:
            raise PeerGone(str(exc)) from exc
        self.ended = True


async def wait_for_head(
    task: asyncio.Task, request_in: asyncio.Event, head: asyncio.Event, timeout: float
) -> None:
    """Wait for the response head or the end of ``task``; the clock starts once the body is in.

    A large upload may take as long as the phone needs, so the timeout only covers the target's
    silence after the whole request reached it. On timeout the task is cancelled and
    UpstreamTimeout raised.
    """
    body_in = asyncio.ensure_future(request_in.wait())
    head_out = asyncio.ensure_future(head.wait())
    try:
        await asyncio.wait({task, body_in, head_out}, return_when=asyncio.FIRST_COMPLETED)
        if task.done() or head.is_set():
            return
        done, _ = await asyncio.wait(
            {task, head_out}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if done:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        raise UpstreamTimeout(
            f"no response within {timeout:g} s: check the service, or raise "
            "PULSE_RELAY_UPSTREAM_TIMEOUT on the instance"
        )
    finally:
        body_in.cancel()
        head_out.cancel()


# Close codes that may be sent in a close frame (RFC 6455 §7.4) and in WS_CLOSE.
UNSENDABLE_CLOSE_CODES = frozenset({1004, 1005, 1006, 1015})


def sendable_close_code(code: int | None, fallback: int = 1000) -> int:
    """``code`` if it may be sent on the wire, else ``fallback``."""
    if code is None or code in UNSENDABLE_CLOSE_CODES or not 1000 <= code <= 4999:
        return fallback
    return code
