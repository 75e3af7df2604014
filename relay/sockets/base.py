"""What both relay sockets share: framing, forwarding, credit books, heartbeats.

The relay reads only outer frame headers. DATA payloads (handshakes and encrypted records) are
forwarded as the very bytes that arrived; the hub (relay.hub) hands them to the peer socket on
this worker directly or to the peer's worker through the channel layer. ``dispatch`` is
overridden so the data path never takes Channels' per-message database-connection thread hop:
a relay worker has no database at all.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import struct
import time
from collections import deque
from dataclasses import dataclass

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from django.conf import settings

from relay import events, messages, metrics
from relay.hub import OVERLOADED_LOST, get_hub
from relay.presence import Address
from relayproto.client_address import client_address
from relayproto.control import Close, CloseReason, Error, decode_control, encode_control
from relayproto.errors import FrameError, ProtocolError
from relayproto.frames import (
    MAX_WINDOW,
    WS_CLOSE_CODES,
    ErrorCode,
    FrameType,
    decode_credit,
    decode_frame,
    encode_credit,
    encode_ping,
    peek_header,
)
from relayproto.socket_urls import instance_hint

log = logging.getLogger(__name__)

DATA = int(FrameType.DATA)
CREDIT = int(FrameType.CREDIT)
CLOSE = int(FrameType.CLOSE)
_HEADER_SIZE = 12
_U32 = struct.Struct("!I")


@dataclass(slots=True)
class ChannelEnd:
    """This socket's view of one channel: who the peer is and what is in flight."""

    peer: RelaySocket | Address
    window: int
    opened_at: float
    unacked: int = 0
    # App side only: the instance has not answered yet, so the handshake clock runs.
    awaiting_peer: bool = False
    # Credit this socket granted while it was not reading (see RelaySocket output bound).
    held_credit: int = 0
    # Frames sent to and received from a peer on another worker, numbered so that a frame the
    # channel layer lost is noticed (relay.messages.frame).
    sent_seq: int = 0
    recv_seq: int = 0


# The output bound: after every PROBE_EVERY bytes written to a socket the relay sends a PING
# whose payload starts with PROBE_TAG; its PONG proves the peer read everything before it
# (frames arrive in order). Housekeeping PINGs carry a counter starting with a zero byte.
PROBE_EVERY = 1 << 20
PROBE_TAG = 0xFE

RETRY_LATER = (ErrorCode.RATE_LIMITED, ErrorCode.SERVER_DRAINING, ErrorCode.ROUTING_UNAVAILABLE)


def client_ip(scope: dict) -> str:
    """The caller's address by the project's one rule (relayproto.client_address)."""
    forwarded = b",".join(
        value for name, value in scope.get("headers", []) if name == b"x-forwarded-for"
    )
    peer = (scope.get("client") or ("unknown", 0))[0]
    address = client_address(
        str(peer), forwarded or None, trust_proxy=settings.PULSE_TRUST_X_FORWARDED_FOR
    )
    return address or "unknown"


class RelaySocket(AsyncConsumer):
    """Common behaviour of both socket kinds: framing, forwarding, credit, heartbeats."""

    kind = "socket"
    hello = "hello"  # the frame that greets: REGISTER (instance) or CONNECT (app)
    # Sockets of a worker share one inbox (see relay.hub); no channel-layer channel each.
    channel_layer_alias = "__relay_sockets_use_the_worker_inbox__"

    # --- ASGI plumbing --------------------------------------------------------------------------
    async def dispatch(self, message: dict) -> None:
        """Route ASGI events without Channels' per-message database cleanup hop."""
        kind = message["type"]
        if kind == "websocket.receive":
            data = message.get("bytes")
            if data is None:
                await self.close_with(ErrorCode.MALFORMED_FRAME, "text messages are not frames")
                return
            await self.on_frame(data)
        elif kind == "websocket.connect":
            await self.on_connect()
        elif kind == "websocket.disconnect":
            await self.cleanup(CloseReason.PEER_GONE)
            raise StopConsumer()

    async def on_connect(self) -> None:
        """Accept the socket, then refuse it with a clear ERROR if a limit says no."""
        self.hub = get_hub()
        await self.hub.start()
        self.socket_id = secrets.token_hex(8)
        self.ip = client_ip(self.scope)
        # The instance the socket's URL names (?iid=), which a load balancer may hash on.
        self.instance_hint = instance_hint(self.scope.get("query_string", b""))
        self.channels: dict[int, ChannelEnd] = {}
        self.closed = False
        now = time.monotonic()
        self.connected_at = self.last_rx = self.last_ping = now
        self._ping_counter = 0
        self.out_written = 0
        self.out_confirmed = 0
        self._next_probe_at = PROBE_EVERY
        self._probe_seq = 0
        self._probes: deque[tuple[bytes, int]] = deque()
        self.stalled_since: float | None = None
        self.greeted = False
        self.ungreeted_slot = False
        # Messages from other workers waiting for this socket (see enqueue_remote).
        self._remote: deque[tuple[dict, int]] = deque()
        self._remote_task: asyncio.Task | None = None
        refusal = await self.refusal()
        await self.base_send({"type": "websocket.accept"})
        if refusal is not None:
            self.closed = True
            metrics.ADMISSION_FAILURES.labels(refusal[0]).inc()
            if refusal[0] == ErrorCode.RATE_LIMITED:
                events.limit_hit(f"{self.kind}_socket", refusal[0], self.ip, refusal[1])
            await self._send_error_and_close(*refusal)
            return
        self.counted = True
        self.hub.add(self)
        metrics.SOCKETS.labels(self.kind).inc()

    async def refusal(self) -> tuple[str, str] | None:
        """Why this socket may not stay (code, message), checked before any frame is read."""
        if self.hub.draining:
            return ErrorCode.SERVER_DRAINING, "the relay worker is shutting down; reconnect"
        # One bucket per address and socket kind: phones behind the same address as their home
        # (its Wi-Fi) must not use up the allowance the instance needs to reconnect.
        if not await self.hub.connects_per_ip.allow(f"{self.kind}:{self.ip}"):
            return ErrorCode.RATE_LIMITED, "too many connections from this address; slow down"
        if not self.hub.ungreeted_per_ip.acquire(self.ip):
            events.limit_hit("ungreeted_per_ip", ErrorCode.RATE_LIMITED, self.ip, "no hello yet")
            return (
                ErrorCode.RATE_LIMITED,
                "too many sockets from this address that have not said hello (REGISTER or "
                "CONNECT) yet",
            )
        self.ungreeted_slot = True
        return None

    def greet(self) -> None:
        """The socket said hello (REGISTER or its first CONNECT): the hello clock stops and
        its address's slot for not-yet-greeted sockets is free again."""
        self.greeted = True
        self._release_ungreeted()

    def _release_ungreeted(self) -> None:
        if self.ungreeted_slot:
            self.ungreeted_slot = False
            self.hub.ungreeted_per_ip.release(self.ip)

    # --- sending --------------------------------------------------------------------------------
    async def send_frame(self, data: bytes) -> None:
        """Send one binary frame to this socket, keeping the books of what it has read."""
        await self.base_send({"type": "websocket.send", "bytes": data})
        self.out_written += len(data)
        if self.out_written >= self._next_probe_at:
            await self._probe()

    # --- the output bound -------------------------------------------------------------------------
    async def _probe(self) -> None:
        self._probe_seq += 1
        payload = bytes([PROBE_TAG]) + self._probe_seq.to_bytes(7, "big")
        ping = encode_ping(payload)
        await self.base_send({"type": "websocket.send", "bytes": ping})
        self.out_written += len(ping)
        self._next_probe_at = self.out_written + PROBE_EVERY
        self._probes.append((payload, self.out_written))
        if self.stalled_since is None and self.unread > self.hub.output_high_water:
            self.stalled_since = time.monotonic()
            metrics.OUTPUT_STALLS.inc()

    @property
    def unread(self) -> int:
        """Bytes written to this socket that no PONG has confirmed as read."""
        return self.out_written - self.out_confirmed

    async def _confirmed(self, payload: bytes) -> None:
        """A probe's PONG: everything written before that PING has been read."""
        while self._probes:
            probe, offset = self._probes.popleft()
            if probe == payload:
                self.out_confirmed = offset
                break
        if self.stalled_since is None:
            return
        if self.unread <= self.hub.output_high_water // 2:
            self.stalled_since = None
            await self._release_held_credit()
        else:
            self.stalled_since = time.monotonic()  # progress: the stall clock starts again

    async def _release_held_credit(self) -> None:
        for cid, end in list(self.channels.items()):
            held, end.held_credit = end.held_credit, 0
            while held > 0 and cid in self.channels:
                step = min(held, MAX_WINDOW)
                await self.forward(cid, end, encode_credit(cid, step))
                held -= step

    async def _check_output(self, now: float) -> bool:
        """Close a socket that stopped reading; True when it did."""
        if self.stalled_since is None:
            return False
        if self.unread > self.hub.output_hard_limit:
            why = f"{self.unread} unread bytes passed the limit of {self.hub.output_hard_limit}"
        elif now - self.stalled_since > self.hub.output_stall_timeout:
            why = f"nothing read for {self.hub.output_stall_timeout} s"
        else:
            return False
        events.limit_hit("output", ErrorCode.OUTPUT_STALLED, self.ip, why)
        await self.close_with(ErrorCode.OUTPUT_STALLED, f"this socket stopped reading: {why}")
        return True

    async def send_frame_quietly(self, data: bytes) -> None:
        """Send a frame, ignoring a socket that is already gone."""
        if not self.closed:
            try:
                await self.send_frame(data)
            except Exception:  # the transport closed under us; cleanup follows
                log.debug("send to closed socket %s ignored", self.socket_id)

    async def _send_error_and_close(self, code: str, message: str, ref: int | None = None) -> None:
        error = ErrorCode(code)
        try:
            retry = 5 if error in RETRY_LATER else None
            await self.send_frame(
                encode_control(Error(code=error, message=message[:400], retry_after=retry, ref=ref))
            )
            await self.base_send({"type": "websocket.close", "code": WS_CLOSE_CODES[error]})
        except Exception:
            log.debug("socket %s was gone before its close", self.socket_id)

    async def close_with(self, code: str, message: str) -> None:
        """Tell the socket why with ERROR, close it with the matching 4xxx code, tidy up."""
        if self.closed:
            return
        metrics.CLOSES.labels("socket", str(code)).inc()
        await self._send_error_and_close(code, message)
        await self.cleanup(CloseReason.PEER_GONE)

    async def cleanup(self, reason: str) -> None:
        """Close every channel of this socket on the peer's side and leave the hub."""
        if getattr(self, "hub", None) is None:
            return
        first_time = not self.closed
        self.closed = True
        for cid, end in list(self.channels.items()):
            self.channels.pop(cid, None)
            self.channel_closed(cid, end)
            await self._notify_peer_closed(cid, end, reason, "the other end disconnected")
        self._release_ungreeted()
        if getattr(self, "_remote", None):
            await self._drop_remote()
        if getattr(self, "counted", False):
            self.counted = False
            self.hub.remove(self)
            metrics.SOCKETS.labels(self.kind).dec()
        if first_time:
            await self.on_cleanup()

    async def on_cleanup(self) -> None:
        """Kind-specific cleanup."""

    def check_hint(self, instance_id: str) -> None:
        """Count (and log once per socket) a URL that named another instance than it uses:
        routing still works, through Redis, but the balancer's stickiness is lost."""
        if self.instance_hint is None or self.instance_hint == instance_id:
            return
        metrics.HINT_MISMATCHES.labels(self.kind).inc()
        if not getattr(self, "_hint_warned", False):
            self._hint_warned = True
            log.warning(
                "%s socket from %s named instance %r in its URL but uses %r: send ?iid= of the "
                "instance it talks to",
                self.kind,
                self.ip,
                self.instance_hint,
                instance_id,
            )

    # --- frames from this socket ----------------------------------------------------------------
    async def on_frame(self, data: bytes) -> None:
        """Handle one frame; the DATA path reads only the header."""
        if self.closed:
            return
        self.last_rx = time.monotonic()
        try:
            frame_type, cid, length = peek_header(data, self.hub.max_frame)
        except FrameError as exc:
            await self.close_with(exc.code, str(exc))
            return
        if frame_type == DATA:
            end = self.channels.get(cid)
            if end is None:
                await self._unknown_channel(cid)
                return
            end.unacked += length
            if end.unacked > end.window:
                events.limit_hit(
                    "window", ErrorCode.WINDOW_EXCEEDED, self.ip, f"{end.unacked} > {end.window}"
                )
                await self.close_with(
                    ErrorCode.WINDOW_EXCEEDED,
                    f"channel {cid}: {end.unacked} bytes in flight exceed the window "
                    f"of {end.window}; wait for CREDIT",
                )
                return
            await self.before_data(length)
            self.count_data(length, end)
            await self.forward(cid, end, data)
            return
        try:
            await self.on_control(decode_frame(data, self.hub.max_frame), data)
        except ProtocolError as exc:
            await self.close_with(getattr(exc, "code", ErrorCode.MALFORMED_FRAME), str(exc))

    async def before_data(self, length: int) -> None:
        """Hook for per-kind pacing of DATA."""

    def count_data(self, length: int, end: ChannelEnd) -> None:
        """Hook for per-direction metrics."""

    async def on_control(self, frame, data: bytes) -> None:
        """Handle a non-DATA frame (``data`` is the whole frame as received)."""
        frame_type = frame.type
        if frame_type is FrameType.CREDIT:
            end = self.channels.get(frame.channel_id)
            if end is None:
                return  # credit for a channel that just closed has nothing left to unlock
            increment = decode_credit(frame.payload)
            if self.stalled_since is not None:
                # It grants credit but does not read what it was sent: hold the credit, so the
                # other end cannot fill this worker's memory on its behalf.
                end.held_credit += increment
                return
            await self.before_credit(increment)
            await self.forward(frame.channel_id, end, data)
        elif frame_type is FrameType.CLOSE:
            decode_control(frame)  # a malformed CLOSE is refused before it reaches the peer
            end = self.channels.pop(frame.channel_id, None)
            if end is not None:
                metrics.CLOSES.labels("channel", "NORMAL").inc()
                await self.forward(frame.channel_id, end, data)
                self.channel_closed(frame.channel_id, end)
        elif frame_type is FrameType.PING:
            await self.send_frame(encode_ping(bytes(frame.payload), pong=True))
        elif frame_type is FrameType.PONG:
            payload = bytes(frame.payload)
            if payload and payload[0] == PROBE_TAG:
                await self._confirmed(payload)
        else:
            await self.on_socket_control(frame)

    async def before_credit(self, increment: int) -> None:
        """Hook for per-kind pacing of credit."""

    def channel_closed(self, cid: int, end: ChannelEnd) -> None:
        """Hook called when a channel of this socket ends."""

    async def on_socket_control(self, frame) -> None:
        """Kind-specific control frames; anything else is a protocol error."""
        await self.close_with(
            ErrorCode.MALFORMED_FRAME, f"{frame.type.name} is not valid on a {self.kind} socket"
        )

    async def _unknown_channel(self, cid: int) -> None:
        # The channel may have closed a moment ago; say so rather than drop silently.
        await self.send_frame(
            encode_control(
                Close(code=CloseReason.PEER_GONE, message="no such channel on this socket"), cid
            )
        )

    # --- forwarding -----------------------------------------------------------------------------
    async def forward(self, cid: int, end: ChannelEnd, data: bytes) -> None:
        """Hand a frame to the channel's other end (the hub picks the path)."""
        seq = 0
        if type(end.peer) is Address:
            end.sent_seq = seq = end.sent_seq + 1
        if not await self.hub.forward(self, cid, end.peer, data, seq):
            if self.channels.pop(cid, None) is not None:
                self.channel_closed(cid, end)
            await self.send_frame_quietly(
                encode_control(
                    Close(code=CloseReason.INTERNAL, message="relay cannot reach the peer"), cid
                )
            )

    async def deliver(self, cid: int, data: bytes) -> None:
        """Send a frame from the peer to this socket, keeping the credit books."""
        if self.closed:
            return
        end = self.channels.get(cid)
        if end is None:
            return
        frame_type = data[1]
        if frame_type == CREDIT:
            (increment,) = _U32.unpack_from(data, _HEADER_SIZE)
            if increment > end.unacked:
                # Credit for bytes this socket never sent: pass on only what is in flight, so
                # the sender's allowance stays what the relay's books say. Otherwise a receiver
                # granting ahead gets an honest sender closed with WINDOW_EXCEEDED.
                increment = end.unacked
                if increment == 0:
                    return
                data = encode_credit(cid, increment)
            end.unacked -= increment
        elif frame_type == DATA:
            end.awaiting_peer = False
        elif frame_type == CLOSE:
            self.channels.pop(cid, None)
            self.channel_closed(cid, end)
        try:
            await self.send_frame(data)
        except Exception:
            log.debug("deliver to closed socket %s ignored", self.socket_id)
            return
        if self.stalled_since is not None and self.unread > self.hub.output_hard_limit:
            await self._check_output(time.monotonic())

    async def peer_gone(self, cid: int, code: str, message: str) -> None:
        """The channel's other end went away: tell this socket with CLOSE."""
        end = self.channels.pop(cid, None)
        if end is None:
            return
        self.channel_closed(cid, end)
        metrics.CLOSES.labels("channel", str(code)).inc()
        await self.send_frame_quietly(
            encode_control(Close(code=CloseReason(code), message=message[:400]), cid)
        )

    async def _notify_peer_closed(self, cid: int, end: ChannelEnd, code: str, message: str):
        await self.hub.tell_gone(end.peer, cid, code, message)

    async def close_channel(self, cid: int, code: str, message: str) -> None:
        """End a channel from the relay's side: CLOSE to both ends."""
        end = self.channels.get(cid)
        if end is None:
            return
        await self.peer_gone(cid, code, message)
        await self._notify_peer_closed(cid, end, code, message)

    # --- messages from other workers ------------------------------------------------------------
    def enqueue_remote(self, message: dict, size: int) -> None:
        """Queue a message from the hub's inbox; one task per busy socket hands them over in
        order, so a socket that does not read holds up only itself."""
        self._remote.append((message, size))
        if self._remote_task is None:
            self._remote_task = asyncio.get_running_loop().create_task(self._drain_remote())

    async def _drain_remote(self) -> None:
        try:
            while self._remote:
                message, size = self._remote.popleft()
                self.hub.inbox_bytes -= size
                try:
                    await self.handle_remote(message)
                except Exception:
                    log.exception(
                        "remote message %s for a %s socket failed", message.get("type"), self.kind
                    )
        finally:
            self._remote_task = None

    async def _drop_remote(self) -> None:
        """The socket is gone: what was queued for it is answered as undeliverable."""
        dropped, self._remote = self._remote, deque()
        for message, size in dropped:
            self.hub.inbox_bytes -= size
            try:
                await self.hub.undeliverable(message)
            except Exception as exc:
                log.debug("could not answer a message for a closed socket: %s", exc)

    async def handle_remote(self, message: dict) -> None:
        """A message for this socket from another worker's inbox."""
        kind = message["type"]
        if kind == messages.FRAME:
            cid = message["cid"]
            end = self.channels.get(cid)
            seq = message.get("seq", 0)
            if end is not None and seq:
                if seq != end.recv_seq + 1:  # Redis dropped frames: reset, never corrupt
                    await self.hub.reset_channel(message, "lost", OVERLOADED_LOST)
                    return
                end.recv_seq = seq
            await self.deliver(cid, message["data"])
        elif kind == messages.GONE:
            await self.peer_gone(
                message["cid"], message.get("code", "PEER_GONE"), message["message"]
            )
        else:
            await self.handle_remote_control(message)

    async def handle_remote_control(self, message: dict) -> None:
        """Kind-specific remote messages."""
        log.warning("unexpected %s for a %s socket", message.get("type"), self.kind)

    # --- heartbeats -----------------------------------------------------------------------------
    async def housekeeping(self, now: float) -> None:
        """Called every second by the hub: idle timeout and pings."""
        if self.closed:
            return
        if await self._check_output(now):
            return
        if not self.greeted and now - self.connected_at > self.hub.hello_timeout:
            await self.close_with(
                ErrorCode.HANDSHAKE_TIMEOUT,
                f"no {self.hello} within {self.hub.hello_timeout} s of connecting",
            )
            return
        if now - self.last_rx > self.hub.idle_timeout:
            await self.close_with(
                ErrorCode.IDLE_TIMEOUT, f"nothing received for {self.hub.idle_timeout} s"
            )
            return
        if now - self.last_ping >= self.hub.ping_interval:
            self.last_ping = now
            self._ping_counter += 1
            await self.send_frame_quietly(encode_ping(self._ping_counter.to_bytes(8, "big")))
