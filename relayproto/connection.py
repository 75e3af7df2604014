"""Relay sockets for endpoints: an app or instance WebSocket carrying many channels.

``RelayConnection`` reads outer frames from one WebSocket and routes channel frames to an
``OuterChannel`` per channel id. An ``OuterChannel`` keeps the relay's credit books for its
channel (it never sends more DATA than the peer granted, and grants CREDIT back as payloads are
consumed), so the layers above only see ``send_data`` and ``recv_data``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import time
from collections.abc import Awaitable, Callable

from relayproto.control import (
    Close,
    CloseReason,
    Connect,
    ConnectAck,
    Drain,
    Error,
    Open,
    Register,
    RegisterAck,
    decode_control,
    encode_control,
    routes_frames,
)
from relayproto.errors import FrameError, ProtocolError
from relayproto.frames import (
    HEADER_SIZE,
    WS_CLOSE_CODES,
    Frame,
    FrameType,
    decode_credit,
    decode_frame,
    encode_credit,
    encode_frame,
    encode_ping,
    error_for_close_code,
    pack_header_into,
)

log = logging.getLogger(__name__)

PING_INTERVAL = 20.0
DEAD_AFTER = 60.0


class RelayError(ProtocolError):
    """The relay refused or ended something; ``code`` is the relay's ErrorCode or CloseReason."""

    code = "RELAY_ERROR"

    def __init__(self, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(f"{code}: {message}" if message else code, code=str(code))
        self.retry_after = retry_after


class ChannelClosedError(RelayError):
    """The channel is over (outer CLOSE from the relay or the peer)."""


_CLOSED = object()


class OuterChannel:
    """One channel as the relay sees it: opaque DATA payloads under a credit window."""

    def __init__(self, connection: RelayConnection, channel_id: int, window: int, max_frame: int):
        self.connection = connection
        self.channel_id = channel_id
        self.window = window
        self.max_frame = max_frame
        self._send_credit = window
        self._credit_changed = asyncio.Event()
        self._inbox: asyncio.Queue = asyncio.Queue()
        self._to_grant = 0
        self.closed = False
        self.close_reason: RelayError | None = None

    # -- fed by the connection's reader
    def _feed(self, frame: Frame) -> None:
        if frame.type is FrameType.DATA:
            self._inbox.put_nowait(frame.payload)
        elif frame.type is FrameType.CREDIT:
            self._send_credit += decode_credit(frame.payload)
            self._credit_changed.set()
        elif frame.type is FrameType.CLOSE:
            close = decode_control(frame)
            self._end(ChannelClosedError(str(close.code), close.message))

    def _end(self, reason: RelayError) -> None:
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        self._inbox.put_nowait(_CLOSED)
        self._credit_changed.set()
        self.connection._channels.pop(self.channel_id, None)

    # -- used by the layers above
    @property
    def payload_budget(self) -> int:
        """The largest DATA payload worth sending in one frame on this channel."""
        return min(self.max_frame, self.window)

    async def send_data(self, payload: bytes | bytearray, *, headroom: bool = False) -> None:
        """Send one DATA payload, waiting for credit; ``headroom`` means 12 bytes are reserved."""
        size = len(payload) - (HEADER_SIZE if headroom else 0)
        if size > self.window:
            raise FrameError(f"a {size}-byte payload can never fit the {self.window}-byte window")
        while self._send_credit < size:
            if self.closed:
                raise self.close_reason or ChannelClosedError("PEER_GONE", "channel closed")
            self._credit_changed.clear()
            await self._credit_changed.wait()
        if self.closed:
            raise self.close_reason or ChannelClosedError("PEER_GONE", "channel closed")
        self._send_credit -= size
        if headroom:
            buffer = payload if isinstance(payload, bytearray) else bytearray(payload)
            pack_header_into(buffer, 0, FrameType.DATA, self.channel_id, size, self.max_frame)
            await self.connection.send_frame(buffer)
        else:
            await self.connection.send_frame(
                encode_frame(FrameType.DATA, self.channel_id, payload, self.max_frame)
            )

    async def recv_data(self) -> memoryview:
        """The next DATA payload; call ``consumed(len)`` when done with it."""
        item = await self._inbox.get()
        if item is _CLOSED:
            self._inbox.put_nowait(_CLOSED)  # later readers see the end too
            raise self.close_reason or ChannelClosedError("PEER_GONE", "channel closed")
        return item

    async def consumed(self, size: int) -> None:
        """Give credit back for processed payload bytes (batched at a quarter window)."""
        self._to_grant += size
        if self._to_grant >= self.window // 4 and not self.closed:
            grant, self._to_grant = self._to_grant, 0
            with contextlib.suppress(ConnectionError, ProtocolError):
                await self.connection.send_frame(encode_credit(self.channel_id, grant))

    async def close(self, code: str = CloseReason.NORMAL, message: str = "") -> None:
        """Tell the relay (and so the peer) that this channel is over."""
        if self.closed:
            return
        self._end(ChannelClosedError(str(code), message or "closed by this end"))
        with contextlib.suppress(ConnectionError, ProtocolError):
            await self.connection.send_frame(
                encode_control(Close(code=CloseReason(code), message=message), self.channel_id)
            )


class RelayConnection:
    """One WebSocket to a relay: frame routing, heartbeats, and the socket-level errors."""

    def __init__(self, websocket) -> None:
        self.ws = websocket
        self._channels: dict[int, OuterChannel] = {}
        self._reader: asyncio.Task | None = None
        self._heartbeat: asyncio.Task | None = None
        self.last_rx = time.monotonic()
        self.closed = asyncio.Event()
        self.error: RelayError | None = None
        self.drain: Drain | None = None
        self.drained = asyncio.Event()  # set when DRAIN arrives

    def start(self) -> None:
        """Start reading frames and sending heartbeats."""
        loop = asyncio.get_running_loop()
        self._reader = loop.create_task(self._read_loop())
        self._heartbeat = loop.create_task(self._heartbeat_loop())

    async def send_frame(self, data: bytes | bytearray) -> None:
        """Send one frame; a closed socket raises ConnectionError."""
        if self.closed.is_set():
            raise ConnectionError(self.error or "the relay socket is closed")
        try:
            await self.ws.send(data)
        except Exception as exc:
            raise ConnectionError(f"the relay socket closed: {exc}") from exc

    async def _read_loop(self) -> None:
        try:
            async for message in self.ws:
                self.last_rx = time.monotonic()
                if isinstance(message, str):
                    raise FrameError("the relay sent a text message")
                frame = decode_frame(message, max_payload=1 << 24)
                await self._on_frame(frame)
        except ProtocolError as exc:
            self.error = RelayError(getattr(exc, "code", "MALFORMED_FRAME"), str(exc))
            with contextlib.suppress(Exception):
                await self.ws.close(WS_CLOSE_CODES.get(exc.code, 4021), str(exc)[:100])
        except Exception as exc:  # the socket went away
            if self.error is None:
                self.error = RelayError("PEER_GONE", f"the relay socket closed: {exc}")
        finally:
            if self.error is None:
                code = getattr(self.ws, "close_code", None)
                mapped = error_for_close_code(code) if code else None
                self.error = RelayError(
                    str(mapped) if mapped else "PEER_GONE",
                    f"the relay closed the socket (code {code})",
                )
            self.closed.set()
            for channel in list(self._channels.values()):
                channel._end(ChannelClosedError("PEER_GONE", "the relay socket closed"))
            if self._heartbeat is not None:
                self._heartbeat.cancel()
            await self.on_closed()

    async def _heartbeat_loop(self) -> None:
        counter = 0
        while True:
            await asyncio.sleep(PING_INTERVAL / 4)
            idle = time.monotonic() - self.last_rx
            if idle > DEAD_AFTER:
                log.warning("relay socket silent for %.0f s; closing it", idle)
                self.error = RelayError("IDLE_TIMEOUT", "the relay stopped answering")
                await self.ws.close(4031, "idle")
                return
            if idle > PING_INTERVAL:
                counter += 1
                with contextlib.suppress(ConnectionError):
                    await self.send_frame(encode_ping(counter.to_bytes(8, "big")))

    async def _on_frame(self, frame: Frame) -> None:
        kind = frame.type
        if frame.channel_id:
            channel = self._channels.get(frame.channel_id)
            if channel is not None:
                channel._feed(frame)
            elif kind is FrameType.OPEN:
                await self.on_open(frame)
            elif kind is FrameType.CONNECT_ACK:
                self.on_connect_ack(frame)
            return
        if kind is FrameType.PING:
            await self.send_frame(encode_frame(FrameType.PONG, 0, bytes(frame.payload)))
        elif kind is FrameType.PONG:
            return
        elif kind is FrameType.ERROR:
            await self.on_error(decode_control(frame))
        elif kind is FrameType.DRAIN:
            self.drain = decode_control(frame)
            self.drained.set()
            await self.on_drain(self.drain)
        elif kind is FrameType.REGISTER_ACK:
            await self.on_register_ack(decode_control(frame))
        else:
            raise FrameError(f"unexpected {kind.name} from the relay")

    @property
    def open_channels(self) -> int:
        """How many channels are open on this socket."""
        return len(self._channels)

    def _new_channel(self, channel_id: int, window: int, max_frame: int) -> OuterChannel:
        channel = OuterChannel(self, channel_id, window, max_frame)
        self._channels[channel_id] = channel
        return channel

    # -- hooks for the two kinds of endpoint
    async def on_open(self, frame: Frame) -> None:
        """An OPEN arrived (instances only)."""
        raise FrameError("unexpected OPEN on an app socket")

    def on_connect_ack(self, frame: Frame) -> None:
        """A CONNECT_ACK arrived (apps only)."""
        raise FrameError("unexpected CONNECT_ACK on an instance socket")

    async def on_error(self, error: Error) -> None:
        """A socket-level ERROR: remember it; the relay closes the socket next."""
        self.error = RelayError(str(error.code), error.message, error.retry_after)

    async def on_drain(self, drain: Drain) -> None:
        """The relay is shutting down; endpoints reconnect after ``retry_after``."""

    async def on_register_ack(self, ack: RegisterAck) -> None:
        """A REGISTER_ACK arrived (instances only)."""
        raise FrameError("unexpected REGISTER_ACK on an app socket")

    async def on_closed(self) -> None:
        """The socket is gone."""

    async def close(self) -> None:
        """Close the socket and stop the tasks."""
        with contextlib.suppress(Exception):
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader, 5)


def tls_context(url: str, ca_file: str | os.PathLike[str] | None) -> ssl.SSLContext | None:
    """The TLS settings for a ``wss://`` URL: the system's trust store, or only the CA in
    ``ca_file`` (a relay or balancer with a private certificate); None for ``ws://``."""
    if not url.startswith("wss://"):
        return None
    if ca_file is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=os.fspath(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(
            f"cannot use {ca_file} as the relay's CA file ({exc}): give a PEM file holding the "
            "certificate of the CA that signed the relay's (or its balancer's) certificate"
        ) from exc


async def open_websocket(url: str, *, ca_file: str | os.PathLike[str] | None = None, **kwargs):
    """Connect a WebSocket suited to relay traffic (no compression, large frames); for
    ``wss://``, trust ``ca_file`` when given, else the system's CAs."""
    import websockets

    context = tls_context(url, ca_file)
    if context is not None:
        kwargs["ssl"] = context
    return await websockets.connect(
        url, max_size=2 << 20, compression=None, ping_interval=None, open_timeout=15, **kwargs
    )


class AppConnection(RelayConnection):
    """The phone's socket to ``/ws/app``: asks for channels to instances."""

    def __init__(self, websocket) -> None:
        super().__init__(websocket)
        self._next_ref = 1
        self._pending: dict[int, asyncio.Future] = {}

    @property
    def in_use(self) -> int:
        """Open channels plus CONNECTs waiting for their answer."""
        return len(self._channels) + len(self._pending)

    @classmethod
    async def connect(
        cls, url: str, *, ca_file: str | os.PathLike[str] | None = None
    ) -> AppConnection:
        """Connect to a relay's ``/ws/app`` URL (``ca_file``: see open_websocket)."""
        connection = cls(await open_websocket(url, ca_file=ca_file))
        connection.start()
        return connection

    async def open_channel(
        self, instance_id: str, *, routing_token: str | None = None, timeout: float = 30.0
    ) -> OuterChannel:
        """CONNECT to an instance; RelayError (e.g. INSTANCE_OFFLINE) if the relay refuses."""
        ref = self._next_ref
        self._next_ref += 1
        waiter = asyncio.get_running_loop().create_future()
        self._pending[ref] = waiter
        try:
            await self.send_frame(
                encode_control(
                    Connect(ref=ref, instance_id=instance_id, routing_token=routing_token)
                )
            )
            done, _ = await asyncio.wait(
                [waiter, asyncio.ensure_future(self.closed.wait())],
                timeout=timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if waiter in done:
                return waiter.result()
            raise self.error or RelayError("INSTANCE_OFFLINE", "the relay did not answer")
        finally:
            self._pending.pop(ref, None)

    def on_connect_ack(self, frame: Frame) -> None:
        """Resolve the CONNECT this acknowledges."""
        ack = decode_control(frame)
        assert isinstance(ack, ConnectAck)
        waiter = self._pending.get(ack.ref)
        channel = self._new_channel(frame.channel_id, ack.window, ack.max_frame)
        if waiter is not None and not waiter.done():
            waiter.set_result(channel)
        else:  # nobody waits any more: free it at the relay
            asyncio.get_running_loop().create_task(channel.close(CloseReason.NORMAL, "abandoned"))

    async def on_error(self, error: Error) -> None:
        """A refused CONNECT (with ``ref``) or a socket-level error."""
        if error.ref is not None and error.ref in self._pending:
            waiter = self._pending[error.ref]
            if not waiter.done():
                waiter.set_exception(RelayError(str(error.code), error.message, error.retry_after))
            return
        await super().on_error(error)


OnChannel = Callable[[OuterChannel, Open], Awaitable[None]]


class InstanceConnection(RelayConnection):
    """The instance's socket to ``/ws/instance``: registers and receives channels."""

    def __init__(self, websocket, on_channel: OnChannel) -> None:
        super().__init__(websocket)
        self.on_channel = on_channel
        self.registered: asyncio.Future = asyncio.get_running_loop().create_future()
        self._tasks: set[asyncio.Task] = set()

    @classmethod
    async def connect(
        cls, url: str, on_channel: OnChannel, *, ca_file: str | os.PathLike[str] | None = None
    ) -> InstanceConnection:
        """Connect to a relay's ``/ws/instance`` URL (``ca_file``: see open_websocket)."""
        connection = cls(await open_websocket(url, ca_file=ca_file), on_channel)
        connection.start()
        return connection

    async def register(
        self, licence: str, client: str, resume_token: str | None = None, timeout: float = 15.0
    ) -> RegisterAck:
        """REGISTER with the licence; RelayError with the relay's code when refused."""
        await self.send_frame(
            encode_control(Register(licence=licence, client=client, resume_token=resume_token))
        )
        done, _ = await asyncio.wait(
            [self.registered, asyncio.ensure_future(self.closed.wait())],
            timeout=timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if self.registered in done:
            return self.registered.result()
        raise self.error or RelayError("HANDSHAKE_TIMEOUT", "the relay did not answer REGISTER")

    async def send_routes(self, hashes: list[str]) -> None:
        """Tell the relay which routing tokens (by SHA-256) may CONNECT to this instance, in
        as many ROUTES frames as the list needs."""
        for message in routes_frames(hashes):
            await self.send_frame(encode_control(message))

    async def on_register_ack(self, ack: RegisterAck) -> None:
        """Registration accepted."""
        if not self.registered.done():
            self.registered.set_result(ack)

    async def on_open(self, frame: Frame) -> None:
        """A new channel from an app: hand it to ``on_channel`` in a task of its own."""
        message = decode_control(frame)
        assert isinstance(message, Open)
        channel = self._new_channel(frame.channel_id, message.window, message.max_frame)
        task = asyncio.get_running_loop().create_task(self.on_channel(channel, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def channel(self, channel_id: int) -> OuterChannel | None:
        """The open channel with this id, if any."""
        return self._channels.get(channel_id)
