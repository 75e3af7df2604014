"""Channel state shared by both ends of the stream multiplexer: receiving side and bookkeeping.

``relayproto.streams.Multiplexer`` adds the local actions on top of ``ChannelCore``; the split
only keeps modules small. Read streams.py first.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from relayproto.errors import FlowControlError, StreamError
from relayproto.inner import (
    MAX_INCREMENT,
    Close,
    CloseCode,
    Data,
    End,
    PairConfirm,
    PairResult,
    Ping,
    Pong,
    Reset,
    ResetCode,
    ResponseHead,
    StreamKind,
    StreamOpen,
    Trailers,
    WindowUpdate,
    WsClose,
    WsMessage,
    decode_message,
    encode_message,
)
from relayproto.stream_events import (
    ChannelClosed,
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

INITIAL_STREAM_WINDOW: Final = 256 * 1024
INITIAL_CHANNEL_WINDOW: Final = 1024 * 1024
DEFAULT_CHANNEL_WINDOW: Final = 4 * 1024 * 1024
DEFAULT_MAX_STREAMS: Final = 100


class Role(Enum):
    """Which end this multiplexer is: the phone (CLIENT) opens streams, the instance serves."""

    CLIENT = "client"
    SERVER = "server"


class StreamState(Enum):
    """A stream's state as seen from this end."""

    IDLE = "idle"
    OPEN = "open"
    HALF_CLOSED_LOCAL = "half-closed (local)"
    HALF_CLOSED_REMOTE = "half-closed (remote)"
    CLOSED = "closed"


def state_error(message: str) -> StreamError:
    """A message or action that the stream's state does not allow."""
    return StreamError(message, code="STREAM_STATE")


class StreamInfo:
    """Per-stream bookkeeping; ``local_open``/``remote_open`` are the two directions."""

    __slots__ = (
        "head_done",
        "id",
        "kind",
        "local_open",
        "recv_pending",
        "recv_window",
        "remote_open",
        "send_window",
        "ws_accepted",
    )

    def __init__(self, stream_id: int, kind: StreamKind, recv_window: int) -> None:
        """A freshly opened stream: both directions open, baseline send credit."""
        self.id = stream_id
        self.kind = kind
        self.local_open = True
        self.remote_open = True
        self.head_done = False  # the response head was sent (server) / received (client)
        self.ws_accepted = False
        self.send_window = INITIAL_STREAM_WINDOW
        self.recv_window = recv_window
        self.recv_pending = 0  # consumed by the application, not yet granted back


class ChannelCore:
    """One channel's streams, states, credit windows and the handling of received messages."""

    def __init__(
        self,
        role: Role,
        *,
        stream_window: int = INITIAL_STREAM_WINDOW,
        channel_window: int = DEFAULT_CHANNEL_WINDOW,
        max_concurrent_streams: int = DEFAULT_MAX_STREAMS,
    ) -> None:
        """Set our receive windows (at least the protocol baselines) and the stream limit."""
        if not INITIAL_STREAM_WINDOW <= stream_window <= MAX_INCREMENT:
            raise StreamError("stream_window is outside the allowed range", code="BAD_SETTING")
        if not INITIAL_CHANNEL_WINDOW <= channel_window <= MAX_INCREMENT:
            raise StreamError("channel_window is outside the allowed range", code="BAD_SETTING")
        if max_concurrent_streams < 1:
            raise StreamError("max_concurrent_streams must be positive", code="BAD_SETTING")
        self.role = role
        self.stream_window = stream_window
        self.channel_window = channel_window
        self.max_concurrent_streams = max_concurrent_streams
        self._streams: dict[int, StreamInfo] = {}
        self._outstanding: dict[int, int] = {}  # received, not yet acknowledged
        self._next_id = 1  # client: next id to open; server: one past the highest seen
        self._send_channel = INITIAL_CHANNEL_WINDOW
        self._recv_channel = INITIAL_CHANNEL_WINDOW
        self._channel_pending = 0
        self._started = False
        self._local_closed = False
        self._remote_closed = False
        self._lost = False
        self._failed = False
        self._outbox: list[bytes] = []

    # ----------------------------------------------------------------- inspection

    @property
    def open_stream_count(self) -> int:
        """Streams not yet closed in both directions."""
        return len(self._streams)

    @property
    def closed(self) -> bool:
        """Whether the channel is over (CLOSE sent or received, failure, or transport lost)."""
        return self._local_closed or self._remote_closed or self._lost or self._failed

    def stream_state(self, stream_id: int) -> StreamState:
        """The state of a stream from this end."""
        stream = self._streams.get(stream_id)
        if stream is None:
            return StreamState.CLOSED if self._was_opened(stream_id) else StreamState.IDLE
        if stream.local_open:
            return StreamState.OPEN if stream.remote_open else StreamState.HALF_CLOSED_REMOTE
        return StreamState.HALF_CLOSED_LOCAL

    def available_credit(self, stream_id: int) -> int:
        """How many body bytes may be sent on the stream right now (0 if it cannot send)."""
        stream = self._streams.get(stream_id)
        if stream is None or not stream.local_open or self.closed:
            return 0
        return min(stream.send_window, self._send_channel)

    def data_to_send(self) -> list[bytes]:
        """Take the messages the multiplexer queued on its own while receiving."""
        out, self._outbox = self._outbox, []
        return out

    # ----------------------------------------------------------------- receiving

    def receive(self, message: bytes | bytearray | memoryview) -> list[Event]:
        """Handle one decrypted record plaintext; a violation raises and fails the channel."""
        if self._failed or self._remote_closed or self._lost:
            raise StreamError("the channel is closed", code="CHANNEL_CLOSED")
        if self._local_closed:
            return []  # in flight when we closed; nobody is listening any more
        try:
            decoded = decode_message(message)
            handler = _HANDLERS[type(decoded)]
            return handler(self, decoded)
        except StreamError as exc:
            self._fail(exc)
            raise

    def _on_open(self, msg: StreamOpen) -> list[Event]:
        if self.role is not Role.SERVER:
            raise state_error("only the instance receives STREAM_OPEN")
        sid = msg.stream_id
        if sid % 2 == 0 or sid < self._next_id:
            raise state_error(f"stream id {sid} is not a new odd id")
        if msg.end_stream and msg.kind is StreamKind.WEBSOCKET:
            raise state_error("a WebSocket stream cannot end with its open")
        self._next_id = sid + 2
        if len(self._streams) >= self.max_concurrent_streams:
            self._outbox.append(
                encode_message(Reset(sid, ResetCode.REFUSED, "too many concurrent streams"))
            )
            return []
        stream = StreamInfo(sid, msg.kind, INITIAL_STREAM_WINDOW)
        self._streams[sid] = stream
        events: list[Event] = [
            StreamOpened(sid, msg.kind, msg.method, msg.path, msg.headers, msg.end_stream)
        ]
        if msg.end_stream:
            events += self._end_remote(stream)
        else:
            self._outbox += self._grant_stream_window(stream)
        return events

    def _on_head(self, msg: ResponseHead) -> list[Event]:
        if self.role is not Role.CLIENT:
            raise state_error("the phone never sends a response head")
        stream = self._receivable(msg.stream_id)
        if stream is None:
            return []
        if stream.head_done:
            raise state_error(f"second response head on stream {stream.id}")
        websocket = stream.kind is StreamKind.WEBSOCKET
        if msg.status == 101 and (not websocket or msg.end_stream):
            raise state_error("status 101 only accepts a WebSocket stream and cannot end it")
        stream.head_done = True
        if websocket:
            stream.ws_accepted = msg.status == 101
            if not stream.ws_accepted:
                stream.local_open = False  # a refused upgrade: our direction is void
        events: list[Event] = [ResponseReceived(stream.id, msg.status, msg.headers, msg.end_stream)]
        if msg.end_stream:
            events += self._end_remote(stream)
        self._maybe_forget(stream)
        return events

    def _on_data(self, msg: Data) -> list[Event]:
        stream = self._flow_receivable(msg.stream_id, len(msg.data))
        if stream is None:
            return []
        if stream.kind is StreamKind.WEBSOCKET and (stream.ws_accepted or not stream.head_done):
            raise state_error("DATA on a WebSocket stream")
        self._require_head(stream, "DATA")
        self._count_received(stream, len(msg.data))
        return [DataReceived(stream.id, msg.data)]

    def _on_ws_message(self, msg: WsMessage) -> list[Event]:
        stream = self._flow_receivable(msg.stream_id, len(msg.data))
        if stream is None:
            return []
        if not stream.ws_accepted:
            raise state_error("WS_MESSAGE before the WebSocket was accepted")
        self._count_received(stream, len(msg.data))
        return [WebSocketMessageReceived(stream.id, msg.data, msg.text, not msg.more)]

    def _on_end(self, msg: End) -> list[Event]:
        stream = self._receivable(msg.stream_id)
        if stream is None:
            return []
        if stream.ws_accepted:
            raise state_error("an accepted WebSocket ends with WS_CLOSE, not END")
        if stream.kind is StreamKind.WEBSOCKET and self.role is Role.SERVER:
            raise state_error("the phone cannot END a WebSocket stream")
        self._require_head(stream, "END")
        return self._end_remote(stream)

    def _on_trailers(self, msg: Trailers) -> list[Event]:
        stream = self._receivable(msg.stream_id)
        if stream is None:
            return []
        if stream.kind is StreamKind.WEBSOCKET:
            raise state_error("TRAILERS on a WebSocket stream")
        self._require_head(stream, "TRAILERS")
        return [TrailersReceived(stream.id, msg.headers), *self._end_remote(stream)]

    def _on_ws_close(self, msg: WsClose) -> list[Event]:
        stream = self._receivable(msg.stream_id)
        if stream is None:
            return []
        if not stream.ws_accepted:
            raise state_error("WS_CLOSE before the WebSocket was accepted")
        return [WebSocketClosed(stream.id, msg.code, msg.reason), *self._end_remote(stream)]

    def _on_reset(self, msg: Reset) -> list[Event]:
        sid = msg.stream_id
        stream = self._streams.pop(sid, None)
        if stream is None:
            self._check_was_opened(sid)
            return []
        self._outbox += self._release(sid)
        return [StreamReset(sid, msg.code, msg.message, remote=True)]

    def _on_window_update(self, msg: WindowUpdate) -> list[Event]:
        sid = msg.stream_id
        if sid == 0:
            if self._send_channel + msg.increment > MAX_INCREMENT:
                raise FlowControlError("channel window would exceed 2**31-1")
            self._send_channel += msg.increment
            return [WindowUpdated(0, msg.increment)]
        stream = self._streams.get(sid)
        if stream is None:
            self._check_was_opened(sid)
            return []
        if stream.send_window + msg.increment > MAX_INCREMENT:
            raise FlowControlError(f"stream {sid} window would exceed 2**31-1")
        stream.send_window += msg.increment
        return [WindowUpdated(sid, msg.increment)] if stream.local_open else []

    def _on_ping(self, msg: Ping) -> list[Event]:
        self._outbox.append(encode_message(Pong(msg.payload)))
        return []

    def _on_pong(self, msg: Pong) -> list[Event]:
        return [PongReceived(msg.payload)]

    def _on_pair_confirm(self, msg: PairConfirm) -> list[Event]:
        if self.role is not Role.SERVER:
            raise state_error("PAIR_CONFIRM goes from the phone to the instance")
        return [PairConfirmReceived(msg.device_name, msg.platform)]

    def _on_pair_result(self, msg: PairResult) -> list[Event]:
        if self.role is not Role.CLIENT:
            raise state_error("PAIR_RESULT goes from the instance to the phone")
        return [PairResultReceived(msg.status)]

    def _on_close(self, msg: Close) -> list[Event]:
        events: list[Event] = [
            StreamReset(sid, ResetCode.CANCELLED, "channel closed", remote=True)
            for sid in self._streams
        ]
        self._streams.clear()
        self._remote_closed = True
        events.append(ChannelClosed(msg.code, msg.message))
        return events

    # ----------------------------------------------------------------- helpers

    def _was_opened(self, stream_id: int) -> bool:
        return stream_id % 2 == 1 and 0 < stream_id < self._next_id

    def _check_was_opened(self, stream_id: int) -> None:
        if not self._was_opened(stream_id):
            raise state_error(f"stream {stream_id} was never opened")

    def _check_usable(self) -> None:
        if self.closed:
            raise StreamError("the channel is closed", code="CHANNEL_CLOSED")

    def _sendable(self, stream_id: int) -> StreamInfo:
        self._check_usable()
        stream = self._streams.get(stream_id)
        if stream is None:
            raise StreamError(f"stream {stream_id} is not open", code="STREAM_CLOSED")
        if not stream.local_open:
            raise state_error(f"stream {stream_id} is closed for sending")
        return stream

    def _receivable(self, stream_id: int) -> StreamInfo | None:
        """The stream a peer message is for; None if it was reset (late messages are dropped)."""
        stream = self._streams.get(stream_id)
        if stream is None:
            self._check_was_opened(stream_id)
            return None
        if not stream.remote_open:
            raise state_error(f"stream {stream_id} was already ended by the peer")
        return stream

    def _flow_receivable(self, stream_id: int, size: int) -> StreamInfo | None:
        if size > self._recv_channel:
            raise FlowControlError(f"peer sent {size} bytes beyond the channel window")
        stream = self._receivable(stream_id)
        if stream is None:
            # Bytes for a stream we reset still used channel credit: give it straight back.
            self._recv_channel -= size
            self._channel_pending += size
            self._outbox += self._channel_update()
            return None
        if size > stream.recv_window:
            raise FlowControlError(f"peer sent {size} bytes beyond stream {stream_id}'s window")
        return stream

    def _require_head(self, stream: StreamInfo, what: str) -> None:
        if self.role is Role.CLIENT and not stream.head_done:
            raise state_error(f"{what} before the response head on stream {stream.id}")

    def _count_received(self, stream: StreamInfo, size: int) -> None:
        self._recv_channel -= size
        stream.recv_window -= size
        if size:
            self._outstanding[stream.id] = self._outstanding.get(stream.id, 0) + size

    def _take_credit(self, stream: StreamInfo, size: int) -> None:
        credit = min(stream.send_window, self._send_channel)
        if size > credit:
            raise FlowControlError(
                f"{size} bytes exceed the credit of {credit} on stream {stream.id}"
            )
        stream.send_window -= size
        self._send_channel -= size

    def _grant_stream_window(self, stream: StreamInfo) -> list[bytes]:
        extra = self.stream_window - INITIAL_STREAM_WINDOW
        if not extra:
            return []
        stream.recv_window += extra
        return [encode_message(WindowUpdate(stream.id, extra))]

    def _channel_update(self) -> list[bytes]:
        # Half of what the peer may have in flight: until start() raised our window the peer
        # holds only the baseline, and waiting for half of the larger window would stall it.
        granted = self.channel_window if self._started else INITIAL_CHANNEL_WINDOW
        if self._channel_pending < granted // 2 or self.closed:
            return []
        increment, self._channel_pending = self._channel_pending, 0
        self._recv_channel += increment
        return [encode_message(WindowUpdate(0, increment))]

    def _release(self, stream_id: int) -> list[bytes]:
        """Give the channel credit of a dead stream's unread bytes back to the peer."""
        unread = self._outstanding.pop(stream_id, 0)
        self._channel_pending += unread
        return self._channel_update()

    def _end_local(self, stream: StreamInfo) -> None:
        stream.local_open = False
        self._maybe_forget(stream)

    def _end_remote(self, stream: StreamInfo) -> list[Event]:
        stream.remote_open = False
        self._maybe_forget(stream)
        return [StreamEnded(stream.id)]

    def _maybe_forget(self, stream: StreamInfo) -> None:
        if not stream.local_open and not stream.remote_open:
            self._streams.pop(stream.id, None)

    def _fail(self, exc: StreamError) -> None:
        if not self.closed:
            flow = isinstance(exc, FlowControlError)
            code = CloseCode.FLOW_CONTROL if flow else CloseCode.PROTOCOL_ERROR
            self._outbox.append(encode_message(Close(code, str(exc)[:200])))
        self._failed = True
        self._streams.clear()


_HANDLERS: Final = {
    StreamOpen: ChannelCore._on_open,
    ResponseHead: ChannelCore._on_head,
    Data: ChannelCore._on_data,
    WsMessage: ChannelCore._on_ws_message,
    End: ChannelCore._on_end,
    Trailers: ChannelCore._on_trailers,
    WsClose: ChannelCore._on_ws_close,
    Reset: ChannelCore._on_reset,
    WindowUpdate: ChannelCore._on_window_update,
    Ping: ChannelCore._on_ping,
    Pong: ChannelCore._on_pong,
    PairConfirm: ChannelCore._on_pair_confirm,
    PairResult: ChannelCore._on_pair_result,
    Close: ChannelCore._on_close,
}
