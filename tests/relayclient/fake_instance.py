"""An in-process instance and relay for client tests: real handshakes and sessions, no sockets.

``FakeRelay`` is what ``RelayClient(connect=...)`` gets instead of a WebSocket: each
``open_channel`` makes two back-to-back OuterChannels (``linked_channels``) and hands the
instance end to ``FakeInstance.serve``, which runs ``relayproto.e2e.respond`` and a server
``ChannelSession`` with the test's stream handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from relayproto import handshake
from relayproto.connection import RelayError
from relayproto.deeplink import PairingInvite
from relayproto.e2e import respond
from relayproto.errors import ProtocolError
from relayproto.frames import decode_frame
from relayproto.inner import CloseCode, PairStatus
from relayproto.session import ChannelSession, Stream
from relayproto.streams import PairConfirmReceived, Role
from tests.relayproto.session_support import LoopbackConnection

INSTANCE_ID = "home-1"
RELAY_URL = "ws://relay.test:8000"

Handler = Callable[[Stream], Awaitable[None]]


class ForgetfulLoopback(LoopbackConnection):
    """A loopback that keeps no copy of the frames it passes (large transfers stay small)."""

    async def send_frame(self, data: bytes | bytearray) -> None:
        """Deliver the frame to the peer as its reader would."""
        await self.peer._on_frame(decode_frame(bytes(data), max_payload=1 << 24))


def linked_channels(channel_id: int, window: int = 4 << 20, max_frame: int = 1 << 20):
    """(app_side, instance_side) OuterChannels of one channel, connected back to back."""
    app, instance = ForgetfulLoopback(), ForgetfulLoopback()
    app.peer, instance.peer = instance, app
    return (
        app._new_channel(channel_id, window, max_frame),
        instance._new_channel(channel_id, window, max_frame),
    )


@dataclass
class Device:
    """A device the fake instance knows."""

    psk: bytes
    status: str  # pending | active
    name: str = ""
    platform: str = ""


@dataclass
class FakeInstance:
    """The home side: answers pairings and devices, serves streams with ``handler``."""

    instance_id: str = INSTANCE_ID
    static_private: bytes = field(default_factory=handshake.generate_static_key)
    handler: Handler | None = None
    pair_answer: PairStatus | None = PairStatus.ACTIVE  # None: never answer PAIR_CONFIRM
    silence_close_after: float = 0.05  # the relay's HANDSHAKE_TIMEOUT, shortened
    impostor: bool = False  # answer message 1 with bytes that are not from this key
    revoke_after_open: bool = False  # close channels with DEVICE_REVOKED once a stream opens
    pairings: dict[bytes, bytes] = field(default_factory=dict)
    devices: dict[bytes, Device] = field(default_factory=dict)
    sas_seen: list[str] = field(default_factory=list)
    sessions: list[ChannelSession] = field(default_factory=list)

    @property
    def public_key(self) -> bytes:
        """The key the pairing link carries."""
        return handshake.public_key(self.static_private)

    def invite(self, *, expires_in: float = 300) -> PairingInvite:
        """Open a pairing session and return its invitation."""
        pairing_id, secret = handshake.generate_pairing_id(), handshake.generate_psk()
        self.pairings[pairing_id] = secret
        return PairingInvite(
            relay_url=RELAY_URL,
            instance_id=self.instance_id,
            instance_public_key=self.public_key,
            pairing_id=pairing_id,
            pairing_secret=secret,
            expires_at=int(time.time() + expires_in),
        )

    def approve_all(self) -> None:
        """The owner approves every pending device."""
        for device in self.devices.values():
            device.status = "active"

    async def serve(self, outer) -> None:
        """Run one channel as the instance would."""
        if self.impostor:
            await outer.recv_data()
            await outer.send_data(os.urandom(50))
            return
        pairing: list[bytes] = []

        async def choose(message1):
            payload = message1.payload
            if payload.kind == "pairing":
                secret = self.pairings.pop(payload.pairing_id, None)  # single use
                if secret is None:
                    return None
                device_psk = handshake.generate_psk()
                self.devices[message1.initiator_static] = Device(device_psk, "pending")
                pairing.append(message1.initiator_static)
                return secret, handshake.Message2Payload.pairing(device_psk)
            device = self.devices.get(message1.initiator_static)
            if device is None or device.status != "active":
                return None  # unknown, pending or revoked: no answer at all
            return device.psk, handshake.Message2Payload.device()

        try:
            established = await respond(
                outer, instance_id=self.instance_id, static_private=self.static_private,
                choose=choose, timeout=5,
            )  # fmt: skip
        except (ProtocolError, TimeoutError):
            await outer.close()
            return
        if established is None:
            await asyncio.sleep(self.silence_close_after)
            await outer.close("HANDSHAKE_TIMEOUT", "the instance did not answer")
            return
        self.sas_seen.append(established.sas)
        session = ChannelSession(outer, established.secure, Role.SERVER, on_stream=self._stream)
        self.sessions.append(session)
        await session.start()
        if pairing:
            await self._finish_pairing(session, pairing[0])
        await session.closed.wait()

    async def _stream(self, stream: Stream) -> None:
        if self.revoke_after_open:
            await stream.session.close(CloseCode.DEVICE_REVOKED, "revoked by the owner")
            return
        assert self.handler is not None, "the test set no handler"
        await self.handler(stream)

    async def _finish_pairing(self, session: ChannelSession, key: bytes) -> None:
        event = await session.next_control(timeout=5)
        assert isinstance(event, PairConfirmReceived)
        device = self.devices[key]
        device.name, device.platform = event.device_name, event.platform
        if self.pair_answer is None:
            return
        if self.pair_answer is PairStatus.ACTIVE:
            device.status = "active"
        elif self.pair_answer is PairStatus.REFUSED:
            del self.devices[key]
        await session.send_pair_result(self.pair_answer)
        if self.pair_answer is PairStatus.REFUSED:
            await session.close()


class FakeRelay:
    """Stands in for ``AppConnection``: opens channels straight to the fake instance."""

    def __init__(self, instance: FakeInstance | None, *, refuse: str | None = None) -> None:
        self.instance = instance
        self.refuse = refuse  # an ErrorCode to answer every CONNECT with
        self.routing_tokens: list[str | None] = []  # what each CONNECT presented
        self.closed = asyncio.Event()
        self.channels_opened = 0
        self.tasks: set[asyncio.Task] = set()

    async def open_channel(self, instance_id: str, *, routing_token: str | None = None):
        """A channel whose other end the fake instance serves."""
        self.routing_tokens.append(routing_token)
        if self.refuse:
            raise RelayError(self.refuse, "refused by the fake relay", retry_after=0)
        if self.instance is None or instance_id != self.instance.instance_id:
            raise RelayError("INSTANCE_OFFLINE", "instance is offline")
        self.channels_opened += 1
        app_end, instance_end = linked_channels(channel_id=self.channels_opened)
        task = asyncio.get_running_loop().create_task(self.instance.serve(instance_end))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return app_end

    async def close(self) -> None:
        """Forget the socket; serving tasks end with their channels."""
        self.closed.set()
        for task in list(self.tasks):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


def factory(relay: FakeRelay, urls: list[str] | None = None):
    """A connection factory handing out ``relay`` (recording the URLs dialled)."""

    async def connect(url: str) -> FakeRelay:
        if urls is not None:
            urls.append(url)
        relay.closed = asyncio.Event()
        return relay

    return connect
