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


@dataclass(slots=True)
class PendingOpen:
    """An app's CONNECT waiting for a remote worker to open the channel."""

    ref: int
    instance_id: str
    deadline: float


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
        retry = 5 if code in RETRY_LATER else None
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
        ask = messages.open_channel(
            cid, connect.ref, connect.client, routing_hash, self.hub.address_of(self)
        )
        if not await self.hub.reply(address, ask):
            self.pending.pop(cid, None)
            await self._refuse(connect.ref, ErrorCode.INTERNAL, "the relay's routing store is away")

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
