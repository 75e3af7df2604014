"""The reference client's library API: pair, then HTTP, SSE and WebSocket calls through a relay.

Every call opens a fresh channel (so a fresh handshake and fresh keys), runs its streams and
closes it. Bodies are streamed both ways in chunks: memory stays bounded by the protocol's
windows whatever the size of an upload or download.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import random
import socket
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from relayclient import errors
from relayclient.calls import (
    Body,
    EventStream,
    Response,
    WebSocket,
    error_body,
    response_head,
    upload,
)
from relayclient.channel import (
    Channel,
    ConnectionFactory,
    Connections,
    connect_app,
    connect_app_trusting,
    handshake,
)
from relayclient.errors import ClientError
from relayclient.invite import load_invite
from relayclient.state import ClientState, Server, StateFile
from relayproto.errors import ProtocolError
from relayproto.handshake import Message1Payload
from relayproto.inner import PairConfirm, PairStatus, StreamKind
from relayproto.session import Stream
from relayproto.stream_events import ChannelClosed, ConnectionTerminated, PairResultReceived

HeaderList = Iterable[tuple[str, str]]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
CHANNEL_DIED = errors.CHANNEL_DIED


def default_device_name() -> str:
    """This machine's host name, trimmed to what PAIR_CONFIRM allows."""
    name = "".join(ch for ch in socket.gethostname() if ch.isprintable())[:64]
    return name or "relayclient"


def default_platform() -> str:
    """``relayclient-<os>``, a printable ASCII token of at most 32 characters."""
    return f"relayclient-{sys.platform}"[:32]


@dataclass(frozen=True)
class PairOutcome:
    """The result of pairing: the alias it was saved under, the code to compare, the status."""

    server: str
    sas: str
    status: Literal["active", "pending"]


def _check_path(path: str) -> None:
    if not path.startswith("/"):
        raise ClientError(errors.INVALID_ARGUMENT, f"the path must start with '/': {path!r}")


class RelayClient:
    """The reference phone client: pairs with instances and calls them through their relay."""

    def __init__(
        self,
        state: StateFile | str | os.PathLike[str] | None = None,
        *,
        connect: ConnectionFactory = connect_app,
        ca_file: str | os.PathLike[str] | None = None,
        handshake_timeout: float = 20.0,
        pair_result_timeout: float = 30.0,
    ) -> None:
        self.state = state if isinstance(state, StateFile) else StateFile(state)
        if ca_file is not None:  # wss:// relays trust only this CA
            connect = connect_app_trusting(ca_file)
        self.connections = Connections(connect)
        self.handshake_timeout = handshake_timeout
        self.pair_result_timeout = pair_result_timeout

    async def aclose(self) -> None:
        """Close the relay sockets."""
        await self.connections.close()

    async def __aenter__(self) -> RelayClient:
        """Use as ``async with RelayClient(...) as client``."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close the relay sockets."""
        await self.aclose()

    # -- servers -----------------------------------------------------------------------------
    def servers(self) -> list[Server]:
        """The paired servers, by alias."""
        return sorted(self.state.load().servers.values(), key=lambda s: s.alias)

    def server(self, alias: str | None = None) -> Server:
        """One paired server (the only one when ``alias`` is None); NOT_PAIRED if unknown."""
        return self.state.load().resolve(alias)

    def forget(self, alias: str) -> Server:
        """Remove a server and its keys from the state file."""
        with self.state.edit() as state:
            server = state.resolve(alias)
            del state.servers[server.alias]
        return server

    # -- pairing -----------------------------------------------------------------------------
    async def pair(
        self,
        link_or_png_path: str | os.PathLike[str],
        *,
        name: str | None = None,
        device_name: str | None = None,
        platform: str | None = None,
        on_sas: Callable[[str], None] | None = None,
    ) -> PairOutcome:
        """Pair from a link or QR image; ``on_sas(code)`` is called as soon as the code is known."""
        invite = load_invite(link_or_png_path)
        alias = name or invite.instance_id
        device_name = device_name or default_device_name()
        platform = platform or default_platform()
        try:  # refuse bad names before any network traffic, not after the session is used
            PairConfirm(device_name, platform).body()
        except ProtocolError as exc:
            raise ClientError(errors.INVALID_ARGUMENT, str(exc)) from None
        with self.state.edit() as state:
            state.check_alias(alias, invite.instance_id)
            static_private = state.ensure_static_key()

        try:
            outer = await self.connections.open_channel(
                invite.relay_url, invite.instance_id, invite.pairing_secret, just_listed=True
            )
        except ClientError as exc:
            if exc.code != "UNAUTHORIZED":
                raise
            # The instance no longer lists this pairing with its relay.
            raise ClientError(
                errors.PAIRING_USED,
                "the instance no longer accepts this pairing link: it was already used, expired "
                "or ran out of attempts; create a new one",
            ) from exc
        established = await handshake(
            outer,
            instance_id=invite.instance_id,
            static_private=static_private,
            instance_public=invite.instance_public_key,
            psk=invite.pairing_secret,
            payload=Message1Payload.pairing(invite.pairing_id),
            timeout=self.handshake_timeout,
        )
        device_psk = established.message2.device_psk if established.message2 else None
        if device_psk is None:
            await outer.close()
            raise ClientError(errors.PROTOCOL_FAILURE, "the instance sent no device key")
        # The instance now holds a pending device with this psk: save it before anything else
        # can fail, so that an approval on the instance is usable even if this call dies.
        server = Server(
            alias=alias,
            relay_url=invite.relay_url,
            instance_id=invite.instance_id,
            instance_public_key=invite.instance_public_key,
            device_psk=device_psk,
            device_name=device_name,
            status="pending",
            paired_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        )
        try:
            self._save(server)
            if on_sas is not None:
                on_sas(established.sas)
            channel = await Channel.start(outer, established)
        except BaseException:
            await outer.close()
            raise
        try:
            status = await self._pair_result(channel, device_name, platform)
        finally:
            await channel.close()
        if status is PairStatus.REFUSED:
            self._remove(server)  # a refused device's psk is discarded on both sides
            raise ClientError(errors.PAIRING_REFUSED, "the instance refused this device")
        if status is PairStatus.ACTIVE:
            self._mark_active(server)
            return PairOutcome(alias, established.sas, "active")
        return PairOutcome(alias, established.sas, "pending")

    async def _pair_result(self, channel: Channel, device_name: str, platform: str) -> PairStatus:
        try:
            await channel.session.send_pair_confirm(device_name, platform)
            async with asyncio.timeout(self.pair_result_timeout):
                while True:
                    event = await channel.session.next_control()
                    channel.events.append(event)
                    if isinstance(event, PairResultReceived):
                        return event.status
                    if isinstance(event, ChannelClosed | ConnectionTerminated):
                        break
        except TimeoutError:
            pass
        except (ProtocolError, ConnectionError) as exc:
            raise channel.failure(exc) from exc
        raise ClientError(
            errors.PAIRING_INCOMPLETE,
            "the instance did not confirm the pairing; it is saved as pending: if the device "
            "shows on the instance, approve it there, otherwise pair again",
        )

    def _save(self, server: Server) -> None:
        with self.state.edit() as state:
            state.servers[server.alias] = server

    def _mark_active(self, server: Server) -> None:
        with self.state.edit() as state:
            # Only the pairing we know about: another process may have re-paired meanwhile.
            current = state.servers.get(server.alias)
            if current is not None and current.device_psk == server.device_psk:
                state.servers[server.alias] = current.with_status("active")

    def _remove(self, server: Server) -> None:
        with self.state.edit() as state:
            current = state.servers.get(server.alias)
            if current is not None and current.device_psk == server.device_psk:
                del state.servers[server.alias]

    # -- calls -------------------------------------------------------------------------------
    async def _connect(self, alias: str | None) -> Channel:
        state: ClientState = self.state.load()
        server = state.resolve(alias)
        if state.static_private_key is None:
            raise ClientError(errors.STATE_INVALID, "the state file has no client key: pair again")
        try:
            outer = await self.connections.open_channel(
                server.relay_url,
                server.instance_id,
                server.device_psk,
                just_listed=server.status == "pending" or server.just_paired(),
            )
        except ClientError as exc:
            if exc.code != "UNAUTHORIZED":
                raise
            # The instance's relay list lacks this device: it is pending, revoked or unknown.
            if server.status == "pending":
                raise ClientError(
                    errors.DEVICE_PENDING,
                    "this device is waiting for approval: approve it on the instance "
                    "(Settings → Relay → devices), comparing the 6-digit code",
                ) from exc
            raise ClientError(
                errors.UNKNOWN_DEVICE,
                "the instance does not know this device (unknown or revoked): pair again",
            ) from exc
        established = await handshake(
            outer,
            instance_id=server.instance_id,
            static_private=state.static_private_key,
            instance_public=server.instance_public_key,
            psk=server.device_psk,
            payload=Message1Payload.device(),
            timeout=self.handshake_timeout,
            pending=server.status == "pending",
        )
        if server.status == "pending":
            # The instance answers a device only once it is approved.
            self._mark_active(server)
        return await Channel.start(outer, established)

    async def _open(
        self,
        alias: str | None,
        kind: StreamKind,
        method: str,
        path: str,
        headers: HeaderList,
        *,
        end: bool,
    ) -> tuple[Channel, Stream]:
        _check_path(path)
        channel = await self._connect(alias)
        try:
            stream = await channel.session.open_stream(kind, method, path, list(headers), end=end)
        except (ProtocolError, ConnectionError) as exc:
            await channel.close()
            if isinstance(exc, ProtocolError) and not channel.session.closed.is_set():
                raise ClientError(errors.INVALID_ARGUMENT, str(exc)) from None
            raise channel.failure(exc) from exc
        return channel, stream

    async def request(
        self,
        server: str | None,
        method: str,
        path: str,
        *,
        body: Body = None,
        headers: HeaderList = (),
    ) -> Response:
        """Send an HTTP request; the body (bytes or an async iterable of chunks) is streamed."""
        headers = [(k.lower(), v) for k, v in headers]
        if isinstance(body, bytes | bytearray | memoryview) and not any(
            k == "content-length" for k, _ in headers
        ):
            headers.append(("content-length", str(len(body))))
        method = method.upper()
        # Only a request that may be sent twice (RFC 9110 idempotent methods) with a body that
        # can be sent again is retried.
        replayable = method in IDEMPOTENT_METHODS and (
            body is None or isinstance(body, bytes | bytearray | memoryview)
        )
        try:
            return await self._request_once(server, method, path, body, headers)
        except ClientError as exc:
            if not (replayable and exc.code in CHANNEL_DIED):
                raise
            first = exc
        # The channel died under the request before its answer began (a relay worker stopped,
        # the instance moved to another worker): once more, over a fresh channel.
        # Long enough for an instance that followed a DRAIN to register on another worker.
        await asyncio.sleep(random.uniform(0.5, 1.0))
        try:
            return await self._request_once(server, method, path, body, headers)
        except ClientError as exc:
            raise ClientError(
                exc.code,
                f"{exc.message} (retried once over a fresh channel after: {first.message})",
                status=exc.status,
            ) from exc

    async def _request_once(
        self, server: str | None, method: str, path: str, body: Body, headers: list
    ) -> Response:
        channel, stream = await self._open(
            server, StreamKind.HTTP, method, path, headers, end=body is None
        )
        uploader = None
        if body is not None:
            uploader = asyncio.get_running_loop().create_task(upload(stream, body))
        try:
            await response_head(stream, uploader)
        except BaseException as exc:
            if uploader is not None:
                uploader.cancel()
            await channel.close()
            if isinstance(exc, ProtocolError | ConnectionError):
                raise channel.failure(exc, stream) from exc
            raise
        return Response(channel, stream, uploader)

    async def sse(
        self,
        server: str | None,
        path: str,
        *,
        headers: HeaderList = (),
        last_event_id: str | None = None,
        resume: bool = True,
    ) -> EventStream:
        """Subscribe to a ``text/event-stream``; iterate the result for events as they come.
        With ``resume`` (the default) a stream whose channel dies is opened again with
        ``Last-Event-ID`` (see EventStream)."""
        base = [(k.lower(), v) for k, v in headers if k.lower() != "last-event-id"]

        async def reopen(event_id: str | None) -> tuple[Channel, Stream]:
            return await self._open_event_stream(server, path, base, event_id)

        channel, stream = await reopen(last_event_id)
        return EventStream(channel, stream, reopen if resume else None)

    async def _open_event_stream(
        self, server: str | None, path: str, base: list, last_event_id: str | None
    ) -> tuple[Channel, Stream]:
        headers = [*base, ("accept", "text/event-stream")]
        if last_event_id is not None:
            headers.append(("last-event-id", last_event_id))
        channel, stream = await self._open(server, StreamKind.SSE, "GET", path, headers, end=True)
        try:
            head = await stream.response_head()
            if head.status != 200:
                detail = await error_body(stream)
                raise ClientError(
                    errors.HTTP_STATUS,
                    f"the instance answered {head.status} instead of an event stream{detail}",
                    status=head.status,
                )
            content_type = dict(head.headers).get("content-type", "text/event-stream")
            if content_type.split(";")[0].strip().lower() != "text/event-stream":
                raise ClientError(
                    errors.NOT_EVENT_STREAM, f"{path} is not an event stream ({content_type})"
                )
        except BaseException as exc:
            await channel.close()
            if isinstance(exc, ProtocolError | ConnectionError):
                raise channel.failure(exc, stream) from exc
            raise
        return channel, stream

    async def websocket(
        self,
        server: str | None,
        path: str,
        *,
        headers: HeaderList = (),
        subprotocols: Iterable[str] = (),
    ) -> WebSocket:
        """Open a WebSocket to the instance; WEBSOCKET_REFUSED if it answers with a status."""
        headers = [(k.lower(), v) for k, v in headers]
        if protocols := ", ".join(subprotocols):
            headers.append(("sec-websocket-protocol", protocols))
        channel, stream = await self._open(
            server, StreamKind.WEBSOCKET, "GET", path, headers, end=False
        )
        try:
            head = await stream.response_head()
            if head.status != 101:
                detail = await error_body(stream)
                raise ClientError(
                    errors.WEBSOCKET_REFUSED,
                    f"the instance refused the WebSocket with {head.status}{detail}",
                    status=head.status,
                )
        except BaseException as exc:
            await channel.close()
            if isinstance(exc, ProtocolError | ConnectionError):
                raise channel.failure(exc, stream) from exc
            raise
        return WebSocket(channel, stream)
