"""Relay sockets: ``/ws/instance`` for home instances and ``/ws/app`` for phones.

The relay reads only outer frame headers. DATA payloads (handshakes and encrypted records) are
forwarded as the very bytes that arrived, to a consumer on this worker directly or to another
worker's inbox through the channel layer. ``dispatch`` is overridden so the data path never
takes Channels' per-message database-connection thread hop.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import struct
import time
from dataclasses import dataclass

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from django.conf import settings

from relay import audit_hooks, metrics
from relay.hub import get_hub
from relay.presence import Address
from relay.ratelimit import TokenBucket
from relayproto.control import (
    Close,
    CloseReason,
    Connect,
    ConnectAck,
    Error,
    Limits,
    Open,
    Register,
    RegisterAck,
    Routes,
    decode_control,
    encode_control,
)
from relayproto.errors import FrameError, ProtocolError
from relayproto.frames import (
    WS_CLOSE_CODES,
    ErrorCode,
    FrameType,
    decode_credit,
    decode_frame,
    encode_ping,
    peek_header,
)

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


@dataclass(slots=True)
class PendingOpen:
    """An app's CONNECT waiting for a remote worker to open the channel."""

    ref: int
    instance_id: str
    deadline: float


def client_ip(scope: dict) -> str:
    """The peer address, or the last X-Forwarded-For hop when the proxy is trusted."""
    if settings.PULSE_TRUST_X_FORWARDED_FOR:
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-for":
                hops = [hop.strip() for hop in value.decode("latin-1").split(",") if hop.strip()]
                if hops:
                    return hops[-1]
    client = scope.get("client") or ("unknown", 0)
    return str(client[0])


class RelaySocket(AsyncConsumer):
    """Common behaviour of both socket kinds: framing, forwarding, credit, heartbeats."""

    kind = "socket"
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
        self.channels: dict[int, ChannelEnd] = {}
        self.closed = False
        now = time.monotonic()
        self.connected_at = self.last_rx = self.last_ping = now
        self._ping_counter = 0
        refusal = self.refusal()
        await self.base_send({"type": "websocket.accept"})
        if refusal is not None:
            self.closed = True
            metrics.ADMISSION_FAILURES.labels(refusal[0]).inc()
            await self._send_error_and_close(*refusal)
            return
        self.counted = True
        self.hub.add(self)
        metrics.SOCKETS.labels(self.kind).inc()

    def refusal(self) -> tuple[str, str] | None:
        """Why this socket may not stay (code, message), checked before any frame is read."""
        if self.hub.draining:
            return ErrorCode.SERVER_DRAINING, "the relay worker is shutting down; reconnect"
        if not self.hub.connects_per_ip.allow(self.ip):
            return ErrorCode.RATE_LIMITED, "too many connections from this address; slow down"
        return None

    # --- sending --------------------------------------------------------------------------------
    async def send_frame(self, data: bytes) -> None:
        """Send one binary frame to this socket."""
        await self.base_send({"type": "websocket.send", "bytes": data})

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
            retry = 5 if error in (ErrorCode.RATE_LIMITED, ErrorCode.SERVER_DRAINING) else None
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
            self.channel_closed(cid)
            await self._notify_peer_closed(cid, end, reason, "the other end disconnected")
        if getattr(self, "counted", False):
            self.counted = False
            self.hub.remove(self)
            metrics.SOCKETS.labels(self.kind).dec()
        if first_time:
            await self.on_cleanup()

    async def on_cleanup(self) -> None:
        """Kind-specific cleanup."""

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
                await self.close_with(
                    ErrorCode.WINDOW_EXCEEDED,
                    f"channel {cid}: {end.unacked} bytes in flight exceed the window "
                    f"of {end.window}; wait for CREDIT",
                )
                return
            await self.before_data(length)
            self.count_data(length)
            await self.forward(cid, end, data)
            return
        try:
            await self.on_control(decode_frame(data, self.hub.max_frame), data)
        except ProtocolError as exc:
            await self.close_with(getattr(exc, "code", ErrorCode.MALFORMED_FRAME), str(exc))

    async def before_data(self, length: int) -> None:
        """Hook for per-kind pacing of DATA."""

    def count_data(self, length: int) -> None:
        """Hook for per-direction metrics."""

    async def on_control(self, frame, data: bytes) -> None:
        """Handle a non-DATA frame (``data`` is the whole frame as received)."""
        frame_type = frame.type
        if frame_type is FrameType.CREDIT:
            end = self.channels.get(frame.channel_id)
            if end is None:
                return  # credit for a channel that just closed has nothing left to unlock
            increment = decode_credit(frame.payload)
            await self.before_credit(increment)
            await self.forward(frame.channel_id, end, data)
        elif frame_type is FrameType.CLOSE:
            decode_control(frame)  # a malformed CLOSE is refused before it reaches the peer
            end = self.channels.pop(frame.channel_id, None)
            if end is not None:
                metrics.CLOSES.labels("channel", "NORMAL").inc()
                await self.forward(frame.channel_id, end, data)
                self.channel_closed(frame.channel_id)
        elif frame_type is FrameType.PING:
            await self.send_frame(encode_ping(bytes(frame.payload), pong=True))
        elif frame_type is FrameType.PONG:
            return
        else:
            await self.on_socket_control(frame)

    async def before_credit(self, increment: int) -> None:
        """Hook for per-kind pacing of credit."""

    def channel_closed(self, cid: int) -> None:
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
        """Hand a frame to the channel's other end, in process or through the layer."""
        peer = end.peer
        if type(peer) is Address:
            try:
                await self.hub.send_remote(
                    peer,
                    {
                        "type": "relay.frame",
                        "cid": cid,
                        "data": data,
                        "from": self._address_tuple(),
                    },
                )
            except Exception as exc:
                log.warning("cross-worker send failed: %s", exc)
                self.channels.pop(cid, None)
                await self.send_frame_quietly(
                    encode_control(
                        Close(code=CloseReason.INTERNAL, message="relay cannot reach the peer"), cid
                    )
                )
                return
            metrics.DELIVERED_CROSS_WORKER.inc()
        else:
            await peer.deliver(cid, data)
            metrics.DELIVERED_LOCAL.inc()

    def _address_tuple(self) -> tuple[str, str, str]:
        address = self.hub.address_of(self)
        return (address.inbox, address.socket, address.worker)

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
            end.unacked = max(0, end.unacked - increment)
        elif frame_type == DATA:
            end.awaiting_peer = False
        elif frame_type == CLOSE:
            self.channels.pop(cid, None)
            self.channel_closed(cid)
        try:
            await self.send_frame(data)
        except Exception:
            log.debug("deliver to closed socket %s ignored", self.socket_id)

    async def peer_gone(self, cid: int, code: str, message: str) -> None:
        """The channel's other end went away: tell this socket with CLOSE."""
        end = self.channels.pop(cid, None)
        if end is None:
            return
        self.channel_closed(cid)
        metrics.CLOSES.labels("channel", str(code)).inc()
        await self.send_frame_quietly(
            encode_control(Close(code=CloseReason(code), message=message[:400]), cid)
        )

    async def _notify_peer_closed(self, cid: int, end: ChannelEnd, code: str, message: str):
        peer = end.peer
        if type(peer) is Address:
            try:
                await self.hub.send_remote(
                    peer, {"type": "relay.gone", "cid": cid, "code": code, "message": message}
                )
            except Exception as exc:
                log.warning("could not tell a remote peer that channel %s closed: %s", cid, exc)
        else:
            await peer.peer_gone(cid, code, message)

    async def close_channel(self, cid: int, code: str, message: str) -> None:
        """End a channel from the relay's side: CLOSE to both ends."""
        end = self.channels.get(cid)
        if end is None:
            return
        await self.peer_gone(cid, code, message)
        await self._notify_peer_closed(cid, end, code, message)

    # --- messages from other workers ------------------------------------------------------------
    async def handle_remote(self, message: dict) -> None:
        """A message for this socket from another worker's inbox."""
        kind = message["type"]
        if kind == "relay.frame":
            await self.deliver(message["cid"], message["data"])
        elif kind == "relay.gone":
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
        if now - self.last_rx > self.hub.idle_timeout:
            await self.close_with(
                ErrorCode.IDLE_TIMEOUT, f"nothing received for {self.hub.idle_timeout} s"
            )
            return
        if now - self.last_ping >= self.hub.ping_interval:
            self.last_ping = now
            self._ping_counter += 1
            await self.send_frame_quietly(encode_ping(self._ping_counter.to_bytes(8, "big")))


class InstanceSocket(RelaySocket):
    """``/ws/instance``: a home instance registers with its licence and receives channels."""

    kind = "instance"
    instance_id: str | None = None
    # None until the instance sends ROUTES: then only listed routing tokens may CONNECT.
    routes: frozenset[str] | None = None

    async def on_connect(self) -> None:
        """Accept; the instance must REGISTER before anything else."""
        self.bucket = None
        await super().on_connect()

    async def on_socket_control(self, frame) -> None:
        """REGISTER, then ROUTES whenever the instance's devices change."""
        if frame.type is FrameType.ROUTES and self.instance_id is not None:
            routes = decode_control(frame)
            assert isinstance(routes, Routes)
            self.routes = frozenset(routes.hashes)
            return
        if frame.type is not FrameType.REGISTER:
            await super().on_socket_control(frame)
            return
        if self.instance_id is not None:
            await self.close_with(ErrorCode.MALFORMED_FRAME, "this socket is registered already")
            return
        register = decode_control(frame)
        assert isinstance(register, Register)
        try:
            admitted = self.hub.admission.admit(register)
        except ProtocolError as exc:
            metrics.ADMISSION_FAILURES.labels(exc.code).inc()
            await audit_hooks.registration_failed(exc.code, self.ip, str(exc))
            await self.close_with(exc.code, str(exc))
            return
        instance_id = admitted.licence.instance_id
        previous = self.hub.instances.get(instance_id)
        if previous is not None and previous is not self:
            await previous.close_with(
                ErrorCode.DUPLICATE_INSTANCE,
                "a newer connection registered this instance; this one is closed",
            )
        self.instance_id = instance_id
        self.hub.instances[instance_id] = self
        if self.hub.instance_rate:
            self.bucket = TokenBucket(self.hub.instance_rate, self.hub.instance_rate)
        try:
            older = await self.hub.presence.claim(instance_id, self.hub.address_of(self))
        except Exception as exc:  # Redis away: local apps still work; the refresher retries
            self.hub.last_redis_error = str(exc)
            older = None
        if older is not None:
            try:
                await self.hub.send_remote(older, {"type": "relay.superseded"})
            except Exception as exc:
                log.warning("could not close the older registration: %s", exc)
        await self.send_frame(
            encode_control(
                RegisterAck(
                    instance_id=instance_id,
                    resume_token=admitted.resume_token,
                    resume_expires_at=admitted.resume_expires_at,
                    limits=Limits(
                        max_frame=self.hub.max_frame,
                        window=self.hub.window,
                        max_channels=self.hub.max_channels,
                        ping_interval=self.hub.ping_interval,
                    ),
                )
            )
        )
        await audit_hooks.registered(instance_id, admitted.licence.name, self.ip, admitted.resumed)

    async def on_frame(self, data: bytes) -> None:
        """Before REGISTER only REGISTER and PING are allowed."""
        unregistered = self.instance_id is None and not self.closed and len(data) > 1
        if unregistered and data[1] not in (FrameType.REGISTER, FrameType.PING, FrameType.PONG):
            await self.close_with(ErrorCode.UNAUTHORIZED, "send REGISTER with a licence first")
            return
        await super().on_frame(data)

    async def before_data(self, length: int) -> None:
        """Pace the instance's sending to its bandwidth limit."""
        if self.bucket is not None:
            delay = self.bucket.delay_for(length)
            if delay > 0:
                await asyncio.sleep(delay)

    async def before_credit(self, increment: int) -> None:
        """Credit the instance grants lets apps send to it: pace that to the limit too."""
        await self.before_data(increment)

    def count_data(self, length: int) -> None:
        """Count instance-to-app traffic."""
        metrics.FRAMES_INSTANCE_TO_APP.inc()
        metrics.BYTES_INSTANCE_TO_APP.inc(length)

    def open_refusal(self, cid: int, routing_hash: str | None = None) -> tuple[str, str] | None:
        """Why a new channel cannot open on this instance, if it cannot."""
        if self.closed or self.instance_id is None:
            return ErrorCode.INSTANCE_OFFLINE, "the instance is not connected"
        if self.routes is not None and routing_hash not in self.routes:
            return (
                ErrorCode.UNAUTHORIZED,
                "this instance does not know the routing token: pair the device again",
            )
        if len(self.channels) >= self.hub.max_channels:
            return (
                ErrorCode.CHANNEL_LIMIT_REACHED,
                f"the instance has {self.hub.max_channels} open channels already",
            )
        if cid in self.channels:
            return ErrorCode.CHANNEL_REFUSED, "channel id collision; retry"
        return None

    async def open_channel(
        self,
        cid: int,
        peer: RelaySocket | Address,
        client: str | None,
        routing_hash: str | None = None,
    ) -> tuple[str, str] | None:
        """Open a channel to this instance (OPEN frame); return a refusal instead if not."""
        refusal = self.open_refusal(cid, routing_hash)
        if refusal is not None:
            return refusal
        self.channels[cid] = ChannelEnd(
            peer=peer, window=self.hub.window, opened_at=time.monotonic()
        )
        await self.send_frame(
            encode_control(
                Open(
                    window=self.hub.window,
                    max_frame=self.hub.max_frame,
                    client=client,
                    routing_hash=routing_hash,
                ),
                cid,
            )
        )
        return None

    async def handle_remote_control(self, message: dict) -> None:
        """Channel opens from apps on other workers, and supersession."""
        kind = message["type"]
        if kind == "relay.open":
            reply_to = Address(*message["from"])
            refusal = await self.open_channel(
                message["cid"], reply_to, message.get("client"), message.get("routing_hash")
            )
            reply: dict = {"cid": message["cid"], "ref": message["ref"]}
            if refusal is None:
                reply.update(type="relay.opened", **{"from": self._address_tuple()})
            else:
                reply.update(type="relay.refused", code=str(refusal[0]), message=refusal[1])
            try:
                await self.hub.send_remote(reply_to, reply)
            except Exception as exc:
                log.warning("could not answer a remote open: %s", exc)
                self.channels.pop(message["cid"], None)
        elif kind == "relay.superseded":
            await self.close_with(
                ErrorCode.DUPLICATE_INSTANCE,
                "a newer connection registered this instance; this one is closed",
            )
        else:
            await super().handle_remote_control(message)

    async def housekeeping(self, now: float) -> None:
        """An instance that has not registered in time is closed."""
        if (
            not self.closed
            and self.instance_id is None
            and now - self.connected_at > self.hub.handshake_timeout
        ):
            await self.close_with(ErrorCode.HANDSHAKE_TIMEOUT, "no REGISTER in time")
            return
        await super().housekeeping(now)

    async def on_cleanup(self) -> None:
        """Leave the registry and the shared presence, unless a newer socket took over."""
        if self.instance_id is None:
            return
        if self.hub.instances.get(self.instance_id) is self:
            del self.hub.instances[self.instance_id]
            try:
                await self.hub.presence.release(self.instance_id, self.hub.address_of(self))
            except Exception as exc:
                self.hub.last_redis_error = str(exc)
        await audit_hooks.disconnected(self.instance_id, self.ip, "closed")


class AppSocket(RelaySocket):
    """``/ws/app``: a phone asks for channels to instances by id."""

    kind = "app"

    async def on_connect(self) -> None:
        """Accept, counting the socket against its address's limit."""
        self.pending: dict[int, PendingOpen] = {}
        self.ip_slot = False
        await super().on_connect()

    def refusal(self) -> tuple[str, str] | None:
        """Also refuse an address with too many open app sockets."""
        refusal = super().refusal()
        if refusal is None:
            if not self.hub.app_sockets_per_ip.acquire(self.ip):
                return ErrorCode.RATE_LIMITED, "too many open app sockets from this address"
            self.ip_slot = True
        return refusal

    async def on_cleanup(self) -> None:
        """Give back the address's socket slot."""
        if self.ip_slot:
            self.ip_slot = False
            self.hub.app_sockets_per_ip.release(self.ip)
        self.pending.clear()

    def count_data(self, length: int) -> None:
        """Count app-to-instance traffic."""
        metrics.FRAMES_APP_TO_INSTANCE.inc()
        metrics.BYTES_APP_TO_INSTANCE.inc(length)

    def channel_closed(self, cid: int) -> None:
        """Keep the channel gauge right."""
        metrics.CHANNELS.dec()

    def _new_channel_id(self) -> int:
        while True:
            cid = secrets.randbits(32)
            if cid and cid not in self.channels and cid not in self.pending:
                return cid

    async def _refuse(self, ref: int, code: str, message: str) -> None:
        metrics.ADMISSION_FAILURES.labels(str(code)).inc()
        retry = 5 if code in (ErrorCode.RATE_LIMITED, ErrorCode.SERVER_DRAINING) else None
        await self.send_frame_quietly(
            encode_control(Error(code=ErrorCode(code), message=message, retry_after=retry, ref=ref))
        )

    async def _opened(self, cid: int, ref: int, peer: RelaySocket | Address) -> None:
        self.channels[cid] = ChannelEnd(
            peer=peer, window=self.hub.window, opened_at=time.monotonic(), awaiting_peer=True
        )
        metrics.CHANNELS.inc()
        await self.send_frame(
            encode_control(
                ConnectAck(ref=ref, window=self.hub.window, max_frame=self.hub.max_frame), cid
            )
        )

    async def on_socket_control(self, frame) -> None:
        """CONNECT asks for a channel to an instance."""
        if frame.type is not FrameType.CONNECT:
            await super().on_socket_control(frame)
            return
        connect = decode_control(frame)
        assert isinstance(connect, Connect)
        if self.hub.draining:
            await self._refuse(connect.ref, ErrorCode.SERVER_DRAINING, "the relay is shutting down")
            return
        if not self.hub.connects_per_ip.allow(self.ip):
            await self._refuse(connect.ref, ErrorCode.RATE_LIMITED, "too many connects; slow down")
            return
        if len(self.channels) + len(self.pending) >= self.hub.max_channels:
            await self._refuse(
                connect.ref, ErrorCode.CHANNEL_LIMIT_REACHED, "this socket has too many channels"
            )
            return
        cid = self._new_channel_id()
        # The instance learns which device token was used; the relay never passes the token on.
        routing_hash = (
            hashlib.sha256(connect.routing_token.encode()).hexdigest()
            if connect.routing_token
            else None
        )
        local = self.hub.instances.get(connect.instance_id)
        if local is not None:
            refusal = await local.open_channel(cid, self, connect.client, routing_hash)
            if refusal is not None:
                await self._refuse(connect.ref, *refusal)
            else:
                await self._opened(cid, connect.ref, local)
            return
        try:
            address = await self.hub.presence.lookup(connect.instance_id)
        except Exception as exc:
            self.hub.last_redis_error = str(exc)
            await self._refuse(connect.ref, ErrorCode.INTERNAL, "the relay's routing store is away")
            return
        if address is None:
            await self._refuse(
                connect.ref,
                ErrorCode.INSTANCE_OFFLINE,
                "the instance is not connected to the relay",
            )
            return
        self.pending[cid] = PendingOpen(
            connect.ref, connect.instance_id, time.monotonic() + self.hub.handshake_timeout
        )
        try:
            await self.hub.send_remote(
                address,
                {
                    "type": "relay.open",
                    "cid": cid,
                    "ref": connect.ref,
                    "client": connect.client,
                    "routing_hash": routing_hash,
                    "from": self._address_tuple(),
                },
            )
        except Exception as exc:
            self.pending.pop(cid, None)
            self.hub.last_redis_error = str(exc)
            await self._refuse(connect.ref, ErrorCode.INTERNAL, "the relay's routing store is away")

    async def handle_remote_control(self, message: dict) -> None:
        """Answers to this socket's remote opens."""
        kind = message["type"]
        pending = self.pending.pop(message.get("cid"), None)
        if kind == "relay.opened":
            peer = Address(*message["from"])
            if pending is None or self.closed:
                # We gave up waiting; close the instance's side so it does not linger.
                await self.hub.send_remote(
                    peer,
                    {"type": "relay.gone", "cid": message["cid"], "code": "PEER_GONE",
                     "message": "the app stopped waiting"},
                )  # fmt: skip
                return
            await self._opened(message["cid"], pending.ref, peer)
        elif kind == "relay.refused":
            if pending is not None:
                await self._refuse(pending.ref, message["code"], message.get("message", ""))
        else:
            await super().handle_remote_control(message)

    async def housekeeping(self, now: float) -> None:
        """Time out opens nobody answered and handshakes the instance never answered."""
        for cid, pending in list(self.pending.items()):
            if now > pending.deadline:
                self.pending.pop(cid, None)
                await self._refuse(
                    pending.ref, ErrorCode.INSTANCE_OFFLINE, "the instance did not answer in time"
                )
        for cid, end in list(self.channels.items()):
            if end.awaiting_peer and now - end.opened_at > self.hub.handshake_timeout:
                metrics.HANDSHAKE_FAILURES.inc()
                await self.close_channel(
                    cid, ErrorCode.HANDSHAKE_TIMEOUT, "the instance did not answer the handshake"
                )
        await super().housekeeping(now)
