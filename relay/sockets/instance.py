"""``/ws/instance``: a home instance registers with its licence and receives channels."""

from __future__ import annotations

import asyncio
import time

from relay import events, messages, metrics
from relay.presence import Address
from relay.sockets.base import ChannelEnd, RelaySocket
from relayproto.control import (
    Limits,
    Open,
    Register,
    RegisterAck,
    Routes,
    decode_control,
    encode_control,
)
from relayproto.errors import ProtocolError
from relayproto.frames import ErrorCode, FrameType
from relayproto.licence import Licence
from relayproto.ratelimit import TokenBucket


def effective_limits(licence: Licence, max_channels: int, bytes_per_second: int) -> tuple[int, int]:
    """The channel cap and bandwidth (0: unpaced) for an instance: the lower of the relay's
    setting and its licence's cap. They hold across workers because an instance has one
    socket in the whole relay and all its channels pass through it."""
    if licence.max_channels is not None:
        max_channels = min(max_channels, licence.max_channels)
    if licence.bytes_per_second is not None:
        bytes_per_second = min(
            bytes_per_second or licence.bytes_per_second, licence.bytes_per_second
        )
    return max_channels, bytes_per_second


class InstanceSocket(RelaySocket):
    """``/ws/instance``: a home instance registers with its licence and receives channels."""

    kind = "instance"
    hello = "REGISTER"
    instance_id: str | None = None
    # None until the instance sends ROUTES: then only listed routing tokens may CONNECT.
    routes: frozenset[str] | None = None
    # A list arriving in several ROUTES frames (``more``), applied when the last one comes.
    _routes_building: set[str] | None = None
    _routes_overflowed = False
    max_channels = 0  # set at REGISTER (effective_limits)

    async def on_connect(self) -> None:
        """Accept; the instance must REGISTER before anything else."""
        self.bucket = None
        await super().on_connect()

    async def on_socket_control(self, frame) -> None:
        """REGISTER, then ROUTES whenever the instance's devices change."""
        if frame.type is FrameType.ROUTES and self.instance_id is not None:
            routes = decode_control(frame)
            assert isinstance(routes, Routes)
            self._take_routes(routes)
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
            events.registration_refused(exc.code, self.ip, str(exc))
            await self.close_with(exc.code, str(exc))
            return
        instance_id = admitted.licence.instance_id
        self.check_hint(instance_id)
        self.instance_id = instance_id
        self.greet()
        await self.hub.register_instance(self, instance_id)
        self.max_channels, rate = effective_limits(
            admitted.licence, self.hub.max_channels, self.hub.instance_rate
        )
        if rate:
            self.bucket = TokenBucket(rate, rate)
        await self.send_frame(
            encode_control(
                RegisterAck(
                    instance_id=instance_id,
                    resume_token=admitted.resume_token,
                    resume_expires_at=admitted.resume_expires_at,
                    limits=Limits(
                        max_frame=self.hub.max_frame,
                        window=self.hub.window,
                        max_channels=self.max_channels,
                        ping_interval=self.hub.ping_interval,
                    ),
                )
            )
        )
        events.instance_registered(instance_id, admitted.licence.name, self.ip, admitted.resumed)

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

    def count_data(self, length: int, end: ChannelEnd) -> None:
        """Count instance-to-app traffic, by path."""
        cross = type(end.peer) is Address
        metrics.FRAMES_INSTANCE_TO_APP[cross].inc()
        metrics.BYTES_INSTANCE_TO_APP[cross].inc(length)

    def _take_routes(self, routes: Routes) -> None:
        """Collect a (possibly multi-frame) list; apply it when complete. A list over
        PULSE_RELAY_MAX_ROUTES turns filtering off for this instance rather than refusing its
        devices: the end-to-end handshake, not this list, is what keeps strangers out."""
        if self._routes_building is None:
            self._routes_building, self._routes_overflowed = set(), False
        if not self._routes_overflowed:
            self._routes_building.update(routes.hashes)
            if len(self._routes_building) > self.hub.max_routes:
                self._routes_overflowed = True
                self._routes_building.clear()  # memory stays bounded whatever follows
                events.limit_hit(
                    "routes", "ROUTES", self.ip, f"over {self.hub.max_routes} routing tokens"
                )
        if routes.more:
            return
        complete, overflowed = self._routes_building, self._routes_overflowed
        self._routes_building = None
        self.routes = None if overflowed else frozenset(complete)

    def open_refusal(self, cid: int, routing_hash: str | None = None) -> tuple[str, str] | None:
        """Why a new channel cannot open on this instance, if it cannot."""
        if self.closed or self.instance_id is None:
            return ErrorCode.INSTANCE_OFFLINE, "the instance is not connected"
        if self.routes is not None and routing_hash not in self.routes:
            return (
                ErrorCode.UNAUTHORIZED,
                "this instance does not know the routing token: pair the device again",
            )
        if len(self.channels) >= self.max_channels:
            events.limit_hit(
                "channels_per_instance", ErrorCode.CHANNEL_LIMIT_REACHED, self.ip, self.instance_id
            )
            return (
                ErrorCode.CHANNEL_LIMIT_REACHED,
                f"the instance has {self.max_channels} open channels already",
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
        if kind == messages.OPEN:
            reply_to = messages.reply_address(message)
            cid, ref = message["cid"], message["ref"]
            refusal = await self.open_channel(
                cid, reply_to, message.get("client"), message.get("routing_hash")
            )
            if refusal is None:
                reply = messages.opened(cid, ref, self.hub.address_of(self))
            else:
                reply = messages.refused(cid, ref, refusal[0], refusal[1])
            if not await self.hub.reply(reply_to, reply):
                self.channels.pop(cid, None)
        elif kind == messages.SUPERSEDED:
            await self.close_with(
                ErrorCode.DUPLICATE_INSTANCE,
                "a newer connection registered this instance; this one is closed",
            )
        else:
            await super().handle_remote_control(message)

    async def housekeeping(self, now: float) -> None:
        """An instance that has not registered in time is closed."""
        await super().housekeeping(now)

    async def on_cleanup(self) -> None:
        """Leave the registry and the shared presence, unless a newer socket took over."""
        if self.instance_id is None:
            return
        await self.hub.unregister_instance(self, self.instance_id)
        events.instance_disconnected(self.instance_id, self.ip, "closed")
