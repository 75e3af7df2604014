"""``/ws/app``: a phone asks for channels to instances by id."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from relay import events, messages, metrics
from relay.hub import RoutingStoreAway
from relay.presence import Address
from relay.sockets.base import RETRY_LATER, ChannelEnd, RelaySocket
from relayproto.control import Connect, ConnectAck, Error, decode_control, encode_control
from relayproto.frames import ErrorCode, FrameType

# A worker answers an OPEN at once (OPENED or REFUSED; the handshake comes later): silence
# this long means the presence pointed at a worker that just died.
REMOTE_OPEN_TIMEOUT = 2.0
ROUTING_AWAY = (
    "the instance is not on this relay worker and the workers' shared store (Redis) does not "
    "answer; try again shortly"
)


@dataclass(slots=True)
class PendingOpen:
    """An app's CONNECT waiting for a remote worker to open the channel."""

    ref: int
    instance_id: str
    deadline: float
    worker: str = ""
    client: str | None = None
    routing_hash: str | None = None
    retried: bool = False


class AppSocket(RelaySocket):
    """``/ws/app``: a phone asks for channels to instances by id."""

    kind = "app"
    hello = "CONNECT"

    async def on_connect(self) -> None:
        """Accept, counting the socket against its address's limit."""
        self.pending: dict[int, PendingOpen] = {}
        self._lookups: set = set()
        self.ip_slot = False
        await super().on_connect()

    async def refusal(self) -> tuple[str, str] | None:
        """Also refuse an address with too many open app sockets."""
        refusal = await super().refusal()
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
        for task in list(self._lookups):
            task.cancel()

    def count_data(self, length: int, end: ChannelEnd) -> None:
        """Count app-to-instance traffic, by path."""
        cross = type(end.peer) is Address
        metrics.FRAMES_APP_TO_INSTANCE[cross].inc()
        metrics.BYTES_APP_TO_INSTANCE[cross].inc(length)

    def channel_closed(self, cid: int, end: ChannelEnd) -> None:
        """Keep the channel gauge right."""
        metrics.CHANNELS_BY_PATH[type(end.peer) is Address].dec()

    def _new_channel_id(self) -> int:
        while True:
            cid = secrets.randbits(32)
            if cid and cid not in self.channels and cid not in self.pending:
                return cid

    async def _refuse(self, ref: int, code: str, message: str) -> None:
        metrics.ADMISSION_FAILURES.labels(str(code)).inc()
        retry = 5 if code in RETRY_LATER else None
        await self.send_frame_quietly(
            encode_control(Error(code=ErrorCode(code), message=message, retry_after=retry, ref=ref))
        )

    async def _opened(self, cid: int, ref: int, peer: RelaySocket | Address) -> None:
        self.channels[cid] = ChannelEnd(
            peer=peer, window=self.hub.window, opened_at=time.monotonic(), awaiting_peer=True
        )
        cross = type(peer) is Address
        metrics.CHANNELS_BY_PATH[cross].inc()
        metrics.OPENED_BY_PATH[cross].inc()
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
        if not self.greeted:
            self.greet()
        if self.hub.draining:
            await self._refuse(connect.ref, ErrorCode.SERVER_DRAINING, "the relay is shutting down")
            return
        if not await self.hub.connects_per_ip.allow(f"{self.kind}:{self.ip}"):
            events.limit_hit("connects_per_ip", ErrorCode.RATE_LIMITED, self.ip, "CONNECT")
            await self._refuse(connect.ref, ErrorCode.RATE_LIMITED, "too many connects; slow down")
            return
        if len(self.channels) + len(self.pending) >= self.hub.max_channels:
            events.limit_hit(
                "channels_per_socket", ErrorCode.CHANNEL_LIMIT_REACHED, self.ip, "CONNECT"
            )
            await self._refuse(
                connect.ref, ErrorCode.CHANNEL_LIMIT_REACHED, "this socket has too many channels"
            )
            return
        self.check_hint(connect.instance_id)
        cid = self._new_channel_id()
        # The instance learns which device token was used; the relay never passes the token on.
        routing_hash = (
            hashlib.sha256(connect.routing_token.encode()).hexdigest()
            if connect.routing_token
            else None
        )
        local = self.hub.local_instance(connect.instance_id)
        if local is not None:
            refusal = await local.open_channel(cid, self, connect.client, routing_hash)
            if refusal is not None:
                await self._refuse(connect.ref, *refusal)
            else:
                await self._opened(cid, connect.ref, local)
            return
        try:
            address = await self.hub.locate_instance(connect.instance_id)
        except RoutingStoreAway:
            await self._refuse(connect.ref, ErrorCode.ROUTING_UNAVAILABLE, ROUTING_AWAY)
            return
        if address is None:
            await self._refuse(
                connect.ref,
                ErrorCode.INSTANCE_OFFLINE,
                "the instance is not connected to the relay",
            )
            return
        pending = PendingOpen(
            connect.ref, connect.instance_id, 0.0, client=connect.client, routing_hash=routing_hash
        )
        await self._ask_remote(cid, pending, address)

    async def _ask_remote(self, cid: int, pending: PendingOpen, address: Address) -> None:
        """Send OPEN to the worker holding the instance and wait (in housekeeping) for it."""
        pending.worker = address.worker
        pending.deadline = time.monotonic() + min(REMOTE_OPEN_TIMEOUT, self.hub.handshake_timeout)
        self.pending[cid] = pending
        ask = messages.open_channel(
            cid, pending.ref, pending.client, pending.routing_hash, self.hub.address_of(self)
        )
        if not await self.hub.reply(address, ask):
            self.pending.pop(cid, None)
            await self._refuse(pending.ref, ErrorCode.ROUTING_UNAVAILABLE, ROUTING_AWAY)

    async def _remote_open_timed_out(self, cid: int, pending: PendingOpen) -> None:
        """The instance's worker did not answer in 2 s: it died after the instance's presence
        was written, or the OPEN was lost. Look the instance up again and ask once more (it
        reconnects elsewhere within seconds); a second silence is INSTANCE_OFFLINE."""
        if not pending.retried:
            try:
                address = await self.hub.locate_instance(pending.instance_id)
            except RoutingStoreAway:
                address = None
            if self.closed:
                return
            local = self.hub.local_instance(pending.instance_id)
            if local is not None:
                refusal = await local.open_channel(cid, self, pending.client, pending.routing_hash)
                if refusal is not None:
                    await self._refuse(pending.ref, *refusal)
                else:
                    await self._opened(cid, pending.ref, local)
                return
            if address is not None:
                # Another worker took the instance, or the same one lost the OPEN (pub/sub
                # drops messages while Redis fails over): ask once more. A duplicate OPEN is
                # refused at the instance's socket (same channel id) and its answer ignored.
                pending.retried = True
                await self._ask_remote(cid, pending, address)
                return
        await self._refuse(
            pending.ref,
            ErrorCode.INSTANCE_OFFLINE,
            "the relay worker holding the instance did not answer; it is probably reconnecting: "
            "try again in a few seconds",
        )

    async def handle_remote_control(self, message: dict) -> None:
        """Answers to this socket's remote opens."""
        kind = message["type"]
        pending = self.pending.pop(message.get("cid"), None)
        if kind == messages.OPENED:
            peer = messages.reply_address(message)
            if pending is None or self.closed:
                # We gave up waiting; close the instance's side so it does not linger.
                await self.hub.send_remote(
                    peer, messages.gone(message["cid"], "PEER_GONE", "the app stopped waiting")
                )
                return
            await self._opened(message["cid"], pending.ref, peer)
        elif kind == messages.REFUSED:
            if pending is not None:
                await self._refuse(pending.ref, message["code"], message.get("message", ""))
        else:
            await super().handle_remote_control(message)

    async def housekeeping(self, now: float) -> None:
        """Time out opens nobody answered and handshakes the instance never answered."""
        for cid, pending in list(self.pending.items()):
            if now > pending.deadline and self.pending.get(cid) is pending:
                del self.pending[cid]
                # Off the hub's sweep: the look-up may wait for Redis.
                task = self.hub.loop.create_task(self._remote_open_timed_out(cid, pending))
                self._lookups.add(task)
                task.add_done_callback(self._lookups.discard)
        for cid, end in list(self.channels.items()):
            if end.awaiting_peer and now - end.opened_at > self.hub.handshake_timeout:
                metrics.HANDSHAKE_FAILURES.inc()
                await self.close_channel(
                    cid, ErrorCode.HANDSHAKE_TIMEOUT, "the instance did not answer the handshake"
                )
        await super().housekeeping(now)
