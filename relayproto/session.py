"""An end-to-end encrypted channel in asyncio: records over an OuterChannel, streams on top.

``ChannelSession`` ties the sans-IO pieces together for either end: it opens each DATA payload
with the channel's SecureChannel, feeds the plaintexts to the stream Multiplexer, routes the
events to ``Stream`` objects, and seals what the multiplexer wants to send into DATA payloads
of up to a few records each, under the relay's credit window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from relayproto.connection import ChannelClosedError, OuterChannel, RelayError
from relayproto.errors import ProtocolError, StreamError
from relayproto.frames import HEADER_SIZE
from relayproto.inner import CloseCode, Headers, PairStatus, ResetCode, StreamKind
from relayproto.records import MAX_PLAINTEXT, SecureChannel
from relayproto.streams import (
    ChannelClosed,
    ConnectionTerminated,
    DataReceived,
    Event,
    Multiplexer,
    PairConfirmReceived,
    PairResultReceived,
    ResponseReceived,
    Role,
    StreamEnded,
    StreamOpened,
    StreamReset,
    TrailersReceived,
    WebSocketClosed,
    WebSocketMessageReceived,
    WindowUpdated,
)

log = logging.getLogger(__name__)

_RECORD_OVERHEAD = 2 + 16  # u16 length prefix + Poly1305 tag
FRAME_TARGET = 256 * 1024  # measured sweet spot for WebSocket message size through Channels
MAX_WS_MESSAGE = 16 << 20  # a peer's fragments are reassembled in memory: bound them


class StreamResetError(StreamError):
    """The stream was reset by the peer or lost with its channel."""

    code = "STREAM_RESET"


class Stream:
    """One stream of a channel: an HTTP exchange, an SSE response or a WebSocket."""

    def __init__(self, session: ChannelSession, stream_id: int, kind: StreamKind) -> None:
        self.session = session
        self.id = stream_id
        self.kind = kind
        self.request: StreamOpened | None = None
        self.response: ResponseReceived | None = None
        self.trailers: Headers | None = None
        self.ws_close: WebSocketClosed | None = None
        self.reset_by: StreamReset | None = None
        self.ended = False
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._ws_parts: list[bytes] = []
        self._ws_size = 0

    def _put(self, event: Event) -> None:
        self._events.put_nowait(event)

    async def _next(self) -> Event:
        event = await self._events.get()
        if isinstance(event, StreamReset):
            self.reset_by = event
            self._events.put_nowait(event)  # every later read sees the reset too
            raise StreamResetError(
                f"stream {self.id} reset ({event.code.name}): {event.message}",
                code=f"RESET_{event.code.name}",
            )
        return event

    async def response_head(self) -> ResponseReceived:
        """Wait for the instance's response head (phone side)."""
        while self.response is None:
            event = await self._next()
            if isinstance(event, ResponseReceived):
                self.response = event
                if event.end_stream:
                    self.ended = True
            else:  # body before head cannot happen; keep order for read()
                raise StreamError(f"unexpected {type(event).__name__} before the response head")
        return self.response

    async def read(self) -> bytes:
        """The next body chunk; b"" once the peer's side has ended."""
        while not self.ended:
            event = await self._next()
            if isinstance(event, DataReceived):
                await self.session._acknowledge(self.id, len(event.data))
                if event.data:
                    return event.data
            elif isinstance(event, StreamEnded):
                self.ended = True
            elif isinstance(event, TrailersReceived):
                self.trailers = event.headers
            elif isinstance(event, ResponseReceived):
                self.response = event
                if event.end_stream:
                    self.ended = True
        return b""

    async def read_all(self, limit: int | None = None) -> bytes:
        """Read the whole body (up to ``limit`` bytes, else StreamError)."""
        parts: list[bytes] = []
        size = 0
        while chunk := await self.read():
            size += len(chunk)
            if limit is not None and size > limit:
                raise StreamError(f"body larger than {limit} bytes", code="TOO_LARGE")
            parts.append(chunk)
        return b"".join(parts)

    async def receive_ws(self) -> bytes | str | None:
        """The next whole WebSocket message, or None once the peer closed."""
        while True:
            if self.ws_close is not None or self.ended:
                return None
            event = await self._next()
            if isinstance(event, WebSocketMessageReceived):
                await self.session._acknowledge(self.id, len(event.data))
                self._ws_parts.append(event.data)
                self._ws_size += len(event.data)
                if self._ws_size > MAX_WS_MESSAGE:
                    await self.reset(ResetCode.TOO_LARGE, "WebSocket message over 16 MiB")
                    raise StreamError("WebSocket message over 16 MiB", code="TOO_LARGE")
                if event.final:
                    self._ws_size = 0
                    data, self._ws_parts = b"".join(self._ws_parts), []
                    if event.text:
                        try:
                            return data.decode("utf-8")
                        except UnicodeDecodeError:
                            await self.reset(ResetCode.PROTOCOL, "text message is not UTF-8")
                            raise StreamError("text message is not UTF-8") from None
                    return data
            elif isinstance(event, WebSocketClosed):
                self.ws_close = event
            elif isinstance(event, StreamEnded):
                self.ended = True
            elif isinstance(event, ResponseReceived):
                self.response = event

    async def send_response(
        self, status: int, headers: Headers | list[tuple[str, str]] = (), *, end: bool = False
    ) -> None:
        """Send the response head (instance side); 101 accepts a WebSocket."""
        await self.session._send(self.session.mux.send_response(self.id, status, headers,
                                                                  end_stream=end))  # fmt: skip

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send body bytes, waiting for stream credit as needed."""
        view = memoryview(data).cast("B")
        while view:
            credit = await self.session._wait_credit(self.id)
            chunk, view = view[:credit], view[credit:]
            await self.session._send(self.session.mux.send_data(self.id, chunk))

    async def end(self) -> None:
        """End our direction of the stream."""
        await self.session._send(self.session.mux.send_end(self.id))

    async def send_trailers(self, headers: Headers | list[tuple[str, str]]) -> None:
        """Send trailers, ending our direction."""
        await self.session._send(self.session.mux.send_trailers(self.id, headers))

    async def send_ws(self, data: bytes | str) -> None:
        """Send one WebSocket message (str is text), in fragments as stream credit allows."""
        text = isinstance(data, str)
        view = memoryview(data.encode("utf-8") if text else data).cast("B")
        mux = self.session.mux
        while True:
            credit = await self.session._wait_credit(self.id) if view else 0
            part, view = view[:credit], view[credit:]
            await self.session._send(mux.send_ws_fragment(self.id, part, text=text, final=not view))
            if not view:
                return

    async def close_ws(self, code: int = 1000, reason: str = "") -> None:
        """Send our WebSocket close."""
        await self.session._send(self.session.mux.send_ws_close(self.id, code, reason))

    async def reset(self, code: ResetCode = ResetCode.CANCELLED, message: str = "") -> None:
        """Abort the stream both ways; a local reader waiting on it wakes with the reset."""
        if not self.session.closed.is_set():
            with contextlib.suppress(ProtocolError):
                await self.session._send(self.session.mux.reset_stream(self.id, code, message))
        self.session.streams.pop(self.id, None)
        self._put(StreamReset(self.id, code, message or "reset by this end", remote=False))


StreamHandler = Callable[[Stream], Awaitable[None]]


class ChannelSession:
    """The streams of one encrypted channel, for the phone (CLIENT) or the instance (SERVER)."""

    def __init__(
        self,
        outer: OuterChannel,
        secure: SecureChannel,
        role: Role,
        *,
        on_stream: StreamHandler | None = None,
        stream_window: int = 1 << 20,
        channel_window: int = 8 << 20,
    ) -> None:
        self.outer = outer
        self.secure = secure
        self.role = role
        self.mux = Multiplexer(role, stream_window=stream_window, channel_window=channel_window)
        self.on_stream = on_stream
        self.streams: dict[int, Stream] = {}
        self.control: asyncio.Queue[Event] = asyncio.Queue()
        self.closed = asyncio.Event()
        self.close_reason: str = ""
        self.truncated = False
        self._send_lock = asyncio.Lock()
        self._credit_event = asyncio.Event()
        self._reader: asyncio.Task | None = None
        self._handlers: set[asyncio.Task] = set()
        budget = min(outer.payload_budget, FRAME_TARGET) - HEADER_SIZE
        self._payload_budget = max(budget, MAX_PLAINTEXT + _RECORD_OVERHEAD)

    async def start(self) -> None:
        """Begin reading records and announce our receive window."""
        self._reader = asyncio.get_running_loop().create_task(self._read_loop())
        await self._send(self.mux.start())

    def close_error(self) -> ChannelClosedError:
        """The error that explains why the channel ended."""
        return ChannelClosedError("CHANNEL_CLOSED", self.close_reason or "the channel is closed")

    # -- receiving ---------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        try:
            while True:
                payload = await self.outer.recv_data()
                size = len(payload)
                plaintexts = self.secure.open_many(payload)
                for plaintext in plaintexts:
                    self._dispatch(self.mux.receive(plaintext))
                await self._send(self.mux.data_to_send())
                await self.outer.consumed(size)
                if self.mux.closed:
                    break
        except RelayError as exc:
            self._dispatch(self.mux.connection_lost())
            self.close_reason = self.close_reason or str(exc)
        except ProtocolError as exc:
            # Any failed record or stream violation ends the channel: no plaintext fallback.
            log.warning("channel %s failed: %s", self.outer.channel_id, exc)
            self.close_reason = f"{exc.code}: {exc}"
            with contextlib.suppress(Exception):
                await self._send(self.mux.data_to_send())
            self._dispatch(self.mux.connection_lost())
        finally:
            await self._finish()

    def _dispatch(self, events: list[Event]) -> None:
        for event in events:
            stream_id = getattr(event, "stream_id", None)
            if isinstance(event, StreamOpened):
                stream = Stream(self, event.stream_id, event.kind)
                stream.request = event
                if event.end_stream:
                    stream.ended = True
                self.streams[event.stream_id] = stream
                self._spawn(stream)
            elif isinstance(event, WindowUpdated):
                self._credit_event.set()
            elif isinstance(event, PairConfirmReceived | PairResultReceived):
                self.control.put_nowait(event)
            elif isinstance(event, ChannelClosed):
                self.close_reason = f"closed by the peer ({event.code.name}) {event.message}"
                self.control.put_nowait(event)
            elif isinstance(event, ConnectionTerminated):
                self.truncated = event.truncated
                self.control.put_nowait(event)
            elif stream_id is not None:
                stream = self.streams.get(stream_id)
                if stream is not None:
                    stream._put(event)
                    if isinstance(event, StreamReset):
                        self.streams.pop(stream_id, None)
                        self._credit_event.set()  # a writer waiting for credit must see it

    def _spawn(self, stream: Stream) -> None:
        if self.on_stream is None:
            return
        task = asyncio.get_running_loop().create_task(self._run_handler(stream))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _run_handler(self, stream: Stream) -> None:
        try:
            await self.on_stream(stream)
        except (ProtocolError, ConnectionError) as exc:
            log.info("stream %s ended early: %s", stream.id, exc)
        except Exception:
            log.exception("stream handler for %s failed", stream.id)
            await stream.reset(ResetCode.INTERNAL, "the instance failed")
        finally:
            self.streams.pop(stream.id, None)

    async def _finish(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        self._credit_event.set()
        for stream in list(self.streams.values()):
            stream._put(StreamReset(stream.id, ResetCode.CANCELLED, "channel closed", False))
        self.streams.clear()
        await self.outer.close()

    # -- sending -----------------------------------------------------------------------------
    async def _send(self, messages: list[bytes]) -> None:
        if not messages:
            return
        async with self._send_lock:
            batch: list[bytes] = []
            size = 0
            for message in messages:
                cost = len(message) + _RECORD_OVERHEAD
                if batch and size + cost > self._payload_budget:
                    await self._send_batch(batch)
                    batch, size = [], 0
                batch.append(message)
                size += cost
            await self._send_batch(batch)

    async def _send_batch(self, batch: list[bytes]) -> None:
        buffer = self.secure.seal_many(batch, headroom=HEADER_SIZE)
        await self.outer.send_data(buffer, headroom=True)

    async def _acknowledge(self, stream_id: int, size: int) -> None:
        if not self.closed.is_set():
            await self._send(self.mux.acknowledge(stream_id, size))

    async def _credit_changed(self) -> None:
        self._credit_event.clear()
        await self._credit_event.wait()

    async def _wait_credit(self, stream_id: int) -> int:
        while True:
            if self.closed.is_set():
                raise self.close_error()
            credit = self.mux.available_credit(stream_id)
            if credit > 0:
                return credit
            state = self.mux.stream_state(stream_id).name
            if state in ("CLOSED", "HALF_CLOSED_LOCAL"):
                raise StreamResetError(f"stream {stream_id} cannot send any more ({state})")
            await self._credit_changed()

    # -- phone-side and channel-level actions ------------------------------------------------
    async def open_stream(
        self,
        kind: StreamKind,
        method: str,
        path: str,
        headers: Headers | list[tuple[str, str]] = (),
        *,
        end: bool = False,
    ) -> Stream:
        """Open a stream (phone side)."""
        if self.closed.is_set():
            raise self.close_error()
        stream_id, messages = self.mux.open_stream(kind, method, path, headers, end_stream=end)
        stream = Stream(self, stream_id, kind)
        self.streams[stream_id] = stream
        await self._send(messages)
        return stream

    async def send_pair_confirm(self, device_name: str, platform: str) -> None:
        """Phone: name the device after a pairing handshake."""
        await self._send(self.mux.send_pair_confirm(device_name, platform))

    async def send_pair_result(self, status: PairStatus) -> None:
        """Instance: tell the phone the pairing outcome."""
        await self._send(self.mux.send_pair_result(status))

    async def next_control(self, timeout: float | None = None) -> Event:
        """The next channel-level event (pairing messages, CLOSE, termination)."""
        return await asyncio.wait_for(self.control.get(), timeout)

    async def close(self, code: CloseCode = CloseCode.NORMAL, message: str = "") -> None:
        """End the channel with the encrypted CLOSE, then free it at the relay."""
        if not self.closed.is_set():
            with contextlib.suppress(ProtocolError, ConnectionError):
                await self._send(self.mux.close(code, message))
            self.close_reason = self.close_reason or f"closed by this end ({code.name})"
        await self._finish()
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
        for task in list(self._handlers):
            task.cancel()
