"""Sans-IO stream multiplexer for one channel, used by the phone (CLIENT) and instance (SERVER).

Inner messages in, events out; our messages out as lists of encoded inner messages (each the
plaintext of one record). No I/O, no clock, no asyncio: the glue decrypts a record, calls
``receive()``, acts on the events, then sends ``data_to_send()`` (replies the multiplexer made on
its own: PONGs, window updates, refusals, the CLOSE after a protocol error). ``send_*`` methods
return their messages directly. Rules (docs/protocol.md has the full text):

- only the phone opens streams, with odd ids 1, 3, 5... strictly increasing;
- credit counts DATA and WS_MESSAGE body bytes, per stream and per channel. Both sides start
  from the protocol baselines (INITIAL_STREAM_WINDOW, INITIAL_CHANNEL_WINDOW) and raise them with
  WINDOW_UPDATE, so no settings exchange is needed;
- credit returns when the application ``acknowledge()``s consumed bytes, batched at half a window;
- any protocol or flow-control violation by the peer is fatal to the channel: ``receive()``
  raises StreamError / FlowControlError and queues an encrypted CLOSE. Misuse by the local
  application raises the same types but changes nothing;
- losing the transport without a CLOSE either way is reported as truncation.
"""

from __future__ import annotations

from relayproto.errors import StreamError
from relayproto.inner import (
    MAX_DATA_CHUNK,
    MAX_STREAM_ID,
    MAX_WS_CHUNK,
    Close,
    CloseCode,
    End,
    Headers,
    PairConfirm,
    PairResult,
    PairStatus,
    Ping,
    Reset,
    ResetCode,
    ResponseHead,
    StreamKind,
    StreamOpen,
    Trailers,
    WindowUpdate,
    WsClose,
    WsMessage,
    encode_data,
    encode_message,
)
from relayproto.inner_codec import MALFORMED, to_enum
from relayproto.stream_core import (
    DEFAULT_CHANNEL_WINDOW,
    DEFAULT_MAX_STREAMS,
    INITIAL_CHANNEL_WINDOW,
    INITIAL_STREAM_WINDOW,
    ChannelCore,
    Role,
    StreamInfo,
    StreamState,
    state_error,
)
from relayproto.stream_events import (
    ChannelClosed,
    ConnectionTerminated,
    DataReceived,
    Event,
    PairConfirmReceived,
    PairResultReceived,
    PongReceived,
    ResponseReceived,
    StreamEnded,
    StreamOpened,
    StreamReset,
    TrailersReceived,
    WebSocketClosed,
    WebSocketMessageReceived,
    WindowUpdated,
)

__all__ = [
    "DEFAULT_CHANNEL_WINDOW",
    "DEFAULT_MAX_STREAMS",
    "INITIAL_CHANNEL_WINDOW",
    "INITIAL_STREAM_WINDOW",
    "ChannelClosed",
    "ConnectionTerminated",
    "DataReceived",
    "Event",
    "Multiplexer",
    "PairConfirmReceived",
    "PairResultReceived",
    "PongReceived",
    "ResponseReceived",
    "Role",
    "StreamEnded",
    "StreamOpened",
    "StreamReset",
    "StreamState",
    "TrailersReceived",
    "WebSocketClosed",
    "WebSocketMessageReceived",
    "WindowUpdated",
]


def _byte_view(data: bytes | bytearray | memoryview) -> memoryview:
    """A flat byte view of a bytes-like object; anything else is the caller's mistake."""
    try:
        return memoryview(data).cast("B")
    except TypeError:
        raise StreamError("body data must be bytes-like", code=MALFORMED) from None


class Multiplexer(ChannelCore):
    """One channel's streams for either role: the local actions on top of ChannelCore."""

    # ----------------------------------------------------------------- local actions

    def start(self) -> list[bytes]:
        """Raise the channel window from the baseline to ours; send right after the handshake."""
        if self._started or self.closed:
            return []
        self._started = True
        extra = self.channel_window - INITIAL_CHANNEL_WINDOW
        if not extra:
            return []
        self._recv_channel += extra
        return [encode_message(WindowUpdate(0, extra))]

    def open_stream(
        self,
        kind: StreamKind,
        method: str,
        path: str,
        headers: Headers | list[tuple[str, str]] = (),
        *,
        end_stream: bool = False,
    ) -> tuple[int, list[bytes]]:
        """Open a stream (phone only); returns its id and the messages to send."""
        self._check_usable()
        if self.role is not Role.CLIENT:
            raise state_error("only the phone opens streams")
        if len(self._streams) >= self.max_concurrent_streams:
            raise StreamError("too many concurrent streams", code="TOO_MANY_STREAMS")
        stream_id = self._next_id
        if stream_id > MAX_STREAM_ID:
            raise StreamError("stream ids are exhausted; open a new channel", code="IDS_EXHAUSTED")
        kind = to_enum(StreamKind, kind, "stream kind")
        if end_stream and kind is StreamKind.WEBSOCKET:
            raise state_error("a WebSocket stream cannot end with its open")
        out = [encode_message(StreamOpen(stream_id, kind, method, path, headers, end_stream))]
        stream = StreamInfo(stream_id, kind, INITIAL_STREAM_WINDOW)
        stream.local_open = not end_stream
        self._next_id += 2
        self._streams[stream_id] = stream
        out += self._grant_stream_window(stream)
        return stream_id, out

    def send_response(
        self,
        stream_id: int,
        status: int,
        headers: Headers | list[tuple[str, str]] = (),
        *,
        end_stream: bool = False,
    ) -> list[bytes]:
        """Send the response head (instance only); 101 accepts a WebSocket stream."""
        stream = self._sendable(stream_id)
        if self.role is not Role.SERVER or stream.head_done:
            raise state_error("the response head is sent once, by the instance")
        websocket = stream.kind is StreamKind.WEBSOCKET
        if status == 101 and not websocket:
            raise state_error("status 101 is only for accepting WebSocket streams")
        if status == 101 and end_stream:
            raise state_error("an accepted WebSocket cannot end with its head")
        out = [encode_message(ResponseHead(stream_id, status, headers, end_stream))]
        stream.head_done = True
        if websocket:
            stream.ws_accepted = status == 101
            if not stream.ws_accepted:
                stream.remote_open = False  # a refused upgrade: the phone's direction is void
        if end_stream:
            stream.local_open = False
        self._maybe_forget(stream)
        return out

    def send_data(
        self, stream_id: int, data: bytes | bytearray | memoryview, *, end_stream: bool = False
    ) -> list[bytes]:
        """Send body bytes, split into records; raises FlowControlError beyond the credit."""
        stream = self._sendable(stream_id)
        if stream.kind is StreamKind.WEBSOCKET and (stream.ws_accepted or not stream.head_done):
            raise state_error("WebSocket streams carry WS_MESSAGE, not DATA")
        if self.role is Role.SERVER and not stream.head_done:
            raise state_error("send the response head before the body")
        view = _byte_view(data)
        size = len(view)
        self._take_credit(stream, size)
        out = [
            encode_data(stream_id, view[offset : offset + MAX_DATA_CHUNK])
            for offset in range(0, size, MAX_DATA_CHUNK)
        ]
        if end_stream:
            out.append(encode_message(End(stream_id)))
            self._end_local(stream)
        return out

    def send_end(self, stream_id: int) -> list[bytes]:
        """End our direction of an HTTP/SSE stream (or of a refused WebSocket's body)."""
        return self.send_data(stream_id, b"", end_stream=True)

    def send_trailers(
        self, stream_id: int, headers: Headers | list[tuple[str, str]]
    ) -> list[bytes]:
        """Send trailers, which also end our direction of an HTTP/SSE stream."""
        stream = self._sendable(stream_id)
        if stream.kind is StreamKind.WEBSOCKET or (
            self.role is Role.SERVER and not stream.head_done
        ):
            raise state_error("trailers follow a body on HTTP and SSE streams only")
        out = [encode_message(Trailers(stream_id, headers))]
        self._end_local(stream)
        return out

    def send_ws_message(self, stream_id: int, data: bytes | str) -> list[bytes]:
        """Send one WebSocket message (str means text), fragmented to fit records."""
        stream = self._sendable(stream_id)
        if not stream.ws_accepted:
            raise state_error("WebSocket messages need an accepted (101) WebSocket stream")
        text = isinstance(data, str)
        if text:
            try:
                raw = data.encode("utf-8")
            except UnicodeEncodeError:
                raise StreamError("a text message must be valid Unicode", code=MALFORMED) from None
        else:
            raw = _byte_view(data).tobytes()
        self._take_credit(stream, len(raw))
        chunks = [raw[i : i + MAX_WS_CHUNK] for i in range(0, len(raw), MAX_WS_CHUNK)] or [b""]
        last = len(chunks) - 1
        return [
            encode_message(WsMessage(stream_id, chunk, text, more=index != last))
            for index, chunk in enumerate(chunks)
        ]

    def send_ws_fragment(
        self, stream_id: int, data: bytes | bytearray | memoryview, *, text: bool, final: bool
    ) -> list[bytes]:
        """Send part of a WebSocket message, taking credit for this part only; ``final`` ends
        the message. Lets a message larger than the peer's window go out as credit returns."""
        stream = self._sendable(stream_id)
        if not stream.ws_accepted:
            raise state_error("WebSocket messages need an accepted (101) WebSocket stream")
        raw = _byte_view(data).tobytes()
        self._take_credit(stream, len(raw))
        chunks = [raw[i : i + MAX_WS_CHUNK] for i in range(0, len(raw), MAX_WS_CHUNK)] or [b""]
        last = len(chunks) - 1
        return [
            encode_message(WsMessage(stream_id, chunk, text, more=not (final and index == last)))
            for index, chunk in enumerate(chunks)
        ]

    def send_ws_close(self, stream_id: int, code: int = 1000, reason: str = "") -> list[bytes]:
        """Send our WebSocket close frame, ending our direction."""
        stream = self._sendable(stream_id)
        if not stream.ws_accepted:
            raise state_error("WS_CLOSE needs an accepted (101) WebSocket stream")
        out = [encode_message(WsClose(stream_id, code, reason))]
        self._end_local(stream)
        return out

    def reset_stream(
        self, stream_id: int, code: ResetCode = ResetCode.CANCELLED, message: str = ""
    ) -> list[bytes]:
        """Abort a stream both ways; resetting a stream that is already closed sends nothing."""
        self._check_usable()
        stream = self._streams.get(stream_id)
        if stream is None:
            if self._was_opened(stream_id):
                return []
            raise state_error(f"stream {stream_id} was never opened")
        out = [encode_message(Reset(stream_id, code, message))]
        del self._streams[stream_id]
        return out + self._release(stream_id)

    def acknowledge(self, stream_id: int, size: int) -> list[bytes]:
        """Report ``size`` received body bytes as consumed; returns WINDOW_UPDATEs when due."""
        if size < 0:
            raise state_error("cannot acknowledge a negative size")
        outstanding = self._outstanding.get(stream_id)
        if outstanding is None:
            if size == 0 or self._was_opened(stream_id):
                return []  # data of a reset or lost stream was already given back
            raise state_error(f"stream {stream_id} was never opened")
        if size > outstanding:
            raise state_error(f"acknowledging {size} bytes but only {outstanding} are unread")
        if size == outstanding:
            del self._outstanding[stream_id]
        else:
            self._outstanding[stream_id] = outstanding - size
        if self.closed:
            return []
        out = []
        stream = self._streams.get(stream_id)
        if stream is not None and stream.remote_open:
            stream.recv_pending += size
            if stream.recv_pending >= self.stream_window // 2:
                out.append(encode_message(WindowUpdate(stream_id, stream.recv_pending)))
                stream.recv_window += stream.recv_pending
                stream.recv_pending = 0
        self._channel_pending += size
        return out + self._channel_update()

    def ping(self, payload: bytes) -> list[bytes]:
        """Send an end-to-end PING with 8 opaque bytes."""
        self._check_usable()
        return [encode_message(Ping(payload))]

    def send_pair_confirm(self, device_name: str, platform: str) -> list[bytes]:
        """Phone: name this device after a pairing handshake."""
        self._check_usable()
        if self.role is not Role.CLIENT:
            raise state_error("PAIR_CONFIRM is sent by the phone")
        return [encode_message(PairConfirm(device_name, platform))]

    def send_pair_result(self, status: PairStatus) -> list[bytes]:
        """Instance: tell the phone whether its pairing is pending, active or refused."""
        self._check_usable()
        if self.role is not Role.SERVER:
            raise state_error("PAIR_RESULT is sent by the instance")
        return [encode_message(PairResult(status))]

    def close(self, code: CloseCode = CloseCode.NORMAL, message: str = "") -> list[bytes]:
        """End the channel with the encrypted CLOSE; nothing may be sent after it."""
        if self.closed:
            return []
        out = [encode_message(Close(code, message))]
        self._local_closed = True
        self._streams.clear()
        return out

    def connection_lost(self) -> list[Event]:
        """The transport is gone: abort open streams and say whether the end was truncated."""
        if self._lost:
            return []
        truncated = not (self._remote_closed or self._local_closed or self._failed)
        events: list[Event] = [
            StreamReset(stream_id, ResetCode.CANCELLED, "channel lost", remote=False)
            for stream_id in self._streams
        ]
        self._streams.clear()
        self._lost = True
        events.append(ConnectionTerminated(truncated=truncated))
        return events
