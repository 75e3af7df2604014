"""The instance's tunnel: answers each stream a paired phone opens, from the local service.

The responder hands every stream of a device channel to ``Tunnel.serve(stream, device)``. The
target is the instance's own Django app in process (default), or the local HTTP service named by
PULSE_RELAY_UPSTREAM. Either way bodies stream both ways with the channel's credit as the only
buffer, hop-by-hop, forwarding and credential headers from the phone are dropped, and the target
learns the calling device from ``x-pulse-device-id`` / ``x-pulse-device-name``.

Failures before the response head become a status with a short text reason (404, 413, 429, 502,
503, 504); after the head, a stream reset (UPSTREAM_ERROR, TIMEOUT, TOO_LARGE).
"""

from __future__ import annotations

import logging
import math

from django.conf import settings

from instance.tunnel import asgi as tunnel_asgi
from instance.tunnel.auth import device_headers
from instance.tunnel.common import (
    PeerGone,
    RateLimited,
    RequestBody,
    RequestTooLarge,
    ResponseWriter,
    TunnelDevice,
    TunnelError,
    UpstreamUnavailable,
    request_headers,
)
from instance.tunnel.upstream import Upstream, upstream_problem
from relayproto.errors import ProtocolError
from relayproto.inner import ResetCode, StreamKind
from relayproto.ratelimit import KeyedBuckets
from relayproto.session import Stream
from relayproto.streams import StreamOpened

__all__ = ["Tunnel", "TunnelDevice"]

log = logging.getLogger(__name__)


def _project_application() -> tunnel_asgi.ASGIApp:
    """The process's own ASGI application (settings.ASGI_APPLICATION), HTTP and WebSocket.

    Looked up by setting rather than imported: the composition root imports this app, not the
    other way round."""
    from channels.routing import get_default_application

    return get_default_application()


class Tunnel:
    """Serves tunnelled streams from the instance's app or PULSE_RELAY_UPSTREAM.

    ``Tunnel()`` reads its settings; keyword arguments override them (tests, embedding).
    ``http_app`` / ``websocket_app`` replace the in-process ASGI targets.
    """

    def __init__(
        self,
        *,
        upstream: str | None = None,
        timeout: float | None = None,
        max_request_bytes: int | None = None,
        requests_per_minute: int | None = None,
        http_app: tunnel_asgi.ASGIApp | None = None,
        websocket_app: tunnel_asgi.ASGIApp | None = None,
    ) -> None:
        url = _setting(upstream, "PULSE_RELAY_UPSTREAM")
        self.timeout = float(_setting(timeout, "PULSE_RELAY_UPSTREAM_TIMEOUT"))
        self.max_request_bytes = int(_setting(max_request_bytes, "PULSE_RELAY_MAX_REQUEST_BYTES"))
        per_minute = int(_setting(requests_per_minute, "PULSE_RELAY_DEVICE_REQUESTS_PER_MINUTE"))
        # One bucket per device, the project's one limiter (relayproto.ratelimit).
        self.limiter = KeyedBuckets(per_minute, max_keys=10_000)
        self._http_app = http_app
        self._websocket_app = websocket_app
        self.upstream: Upstream | None = None
        self.problem = upstream_problem(url) if url else ""
        if url and not self.problem:
            self.upstream = Upstream(url, self.timeout)
        self.closing = False

    @property
    def target(self) -> str:
        """Where requests go, for logs and status: the upstream URL or "in-process"."""
        return self.upstream.base if self.upstream else "in-process"

    def _in_process_http(self) -> tunnel_asgi.ASGIApp:
        if self._http_app is None:
            self._http_app = _project_application()
        return self._http_app

    def _in_process_websocket(self) -> tunnel_asgi.ASGIApp:
        if self._websocket_app is None:
            self._websocket_app = _project_application()
        return self._websocket_app

    async def aclose(self) -> None:
        """Stop taking new requests (they get 503) and close upstream connections."""
        self.closing = True
        if self.upstream is not None:
            await self.upstream.aclose()

    async def serve(self, stream: Stream, device: TunnelDevice) -> None:
        """Answer one stream of a paired device, start to finish."""
        request = stream.request
        if request is None:
            await stream.reset(ResetCode.PROTOCOL, "not a stream the phone opened")
            return
        writer = ResponseWriter(stream)
        body = RequestBody(stream, self.max_request_bytes)
        try:
            self._admit(request, device)
            headers = request_headers(request.headers)
            headers += device_headers(device, with_secret=self.upstream is None)
            if request.kind is StreamKind.WEBSOCKET:
                await self._serve_websocket(stream, request, headers, writer)
            else:
                await self._serve_http(stream, request, headers, body, writer)
        except TunnelError as exc:
            log.info(
                "tunnel %s %s for device %s: %s %s",
                request.method,
                request.path.partition("?")[0],
                device.device_id,
                exc.status,
                exc.reason,
            )
            await self._fail(stream, writer, exc)
        except PeerGone as exc:
            log.debug("stream %s: the phone went away: %s", stream.id, exc)
            return
        if request.kind is not StreamKind.WEBSOCKET and not body.done:
            # The answer is complete: tell the phone to stop sending a body nobody reads.
            await stream.reset(ResetCode.CANCELLED, "the response ended before the request body")

    def _admit(self, request: StreamOpened, device: TunnelDevice) -> None:
        if self.closing:
            raise UpstreamUnavailable("the instance's tunnel is shutting down: try again shortly")
        if self.problem:
            raise UpstreamUnavailable(f"{self.problem}: the instance's owner must fix it")
        wait = self.limiter.retry_after(device.device_id)
        if wait:
            raise RateLimited(
                f"too many requests from this device (limit "
                f"{self.limiter.per_minute}/minute): retry later",
                headers=[("retry-after", str(math.ceil(wait)))],
            )
        declared = _declared_length(request)
        if declared is not None and declared > self.max_request_bytes:
            raise RequestTooLarge(
                f"request body of {declared} bytes is over the instance's limit of "
                f"{self.max_request_bytes} (PULSE_RELAY_MAX_REQUEST_BYTES)"
            )

    async def _serve_http(
        self,
        stream: Stream,
        request: StreamOpened,
        headers: list[tuple[str, str]],
        body: RequestBody,
        writer: ResponseWriter,
    ) -> None:
        if self.upstream is not None:
            await self.upstream.serve_http(
                stream, request.method, request.path, headers, body, writer
            )
            return
        scope = tunnel_asgi.build_scope("http", request.method, request.path, headers)
        await tunnel_asgi.serve_http(
            self._in_process_http(), stream, scope, body, writer, self.timeout
        )

    async def _serve_websocket(
        self,
        stream: Stream,
        request: StreamOpened,
        headers: list[tuple[str, str]],
        writer: ResponseWriter,
    ) -> None:
        if self.upstream is not None:
            await self.upstream.serve_websocket(stream, request.path, headers, writer)
            return
        scope = tunnel_asgi.build_scope("websocket", request.method, request.path, headers)
        await tunnel_asgi.serve_websocket(
            self._in_process_websocket(), stream, scope, writer, self.timeout
        )

    async def _fail(self, stream: Stream, writer: ResponseWriter, exc: TunnelError) -> None:
        if writer.head_sent:
            reason = exc.reason.encode("utf-8")[:1000].decode("utf-8", errors="ignore")
            await stream.reset(exc.reset_code, reason)
            return
        try:
            await writer.head(
                exc.status, [("content-type", "text/plain; charset=utf-8"), *exc.headers]
            )
            await writer.body(exc.reason.encode("utf-8") + b"\n")
            await writer.end()
        except (PeerGone, ProtocolError, TunnelError):
            return


def _declared_length(request: StreamOpened) -> int | None:
    for name, value in request.headers:
        if name == "content-length" and value.strip().isdigit():
            return int(value.strip())
    return None


def _setting(override, name: str):
    return getattr(settings, name) if override is None else override
