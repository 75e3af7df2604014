"""The instance's end of each channel: Noise responder, pairing completion, streams.

For every channel the relay opens, the responder reads Noise message 1, picks the psk (the
device's, found by its static key, or the pairing secret, found by the pairing id in the
payload), and answers. An unknown, pending or revoked device gets no answer at all, so a
stranger learns nothing; the relay closes the channel on its handshake timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async

from instance import auditing
from instance.devices import PairingRefused, directory
from relayproto import handshake
from relayproto.connection import OuterChannel, RelayError
from relayproto.control import Open
from relayproto.e2e import respond
from relayproto.errors import ProtocolError
from relayproto.handshake import Message1, Message2Payload
from relayproto.inner import CloseCode, PairStatus
from relayproto.session import ChannelSession, Stream
from relayproto.streams import ChannelClosed, ConnectionTerminated, PairConfirmReceived, Role

log = logging.getLogger(__name__)

PAIR_CONFIRM_TIMEOUT = 60.0
REVOCATION_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class CallingDevice:
    """The paired device on the other end of a channel."""

    device_id: int
    name: str
    fingerprint: str


StreamServer = Callable[[Stream, CallingDevice], Awaitable[None]]


@dataclass
class LiveChannel:
    """An open device channel, so revocation can close it."""

    device: CallingDevice
    session: ChannelSession


@dataclass
class Responder:
    """Answers channels for this instance and keeps track of the live ones."""

    instance_id: str
    identity_private: bytes
    serve_stream: StreamServer
    # By id() of the OuterChannel: channel ids are unique per relay socket only, and during a
    # handover (connector) two sockets serve channels at once.
    live: dict[int, LiveChannel] = field(default_factory=dict)
    # Set by the connector while registered: sends ROUTES on the current relay socket.
    routes_sink: Callable[[list[str]], Awaitable[None]] | None = None
    _sent_routes: list[str] | None = None

    async def handle_channel(self, outer: OuterChannel, opened: Open) -> None:
        """Run one channel from handshake to close."""
        decision: dict = {}

        async def choose(message1: Message1) -> tuple[bytes, Message2Payload] | None:
            return await self._choose_psk(message1, decision)

        try:
            established = await respond(
                outer,
                instance_id=self.instance_id,
                static_private=self.identity_private,
                choose=choose,
            )
        except (ProtocolError, TimeoutError) as exc:
            log.info("channel %s: handshake failed: %s", outer.channel_id, exc)
            await auditing.aauth_failed(
                f"handshake failed ({type(exc).__name__})", ip=None, actor="relay"
            )
            # Silence, as for an unknown device: the relay closes the channel on its timeout.
            return
        if established is None:
            return  # no answer by design; the relay times the channel out
        if decision["mode"] == "pairing":
            await self._finish_pairing(outer, established, decision)
        else:
            await self._serve_device(outer, established, decision["device"])

    async def _choose_psk(
        self, message1: Message1, decision: dict
    ) -> tuple[bytes, Message2Payload] | None:
        payload = message1.payload
        devices = directory()
        if payload.kind == "pairing":
            try:
                secret = await sync_to_async(devices.psk_for_pairing_attempt)(payload.pairing_id)
            except PairingRefused as exc:
                log.info("pairing attempt refused: %s", exc)
                return None
            device_psk = handshake.generate_psk()
            decision.update(mode="pairing", pairing_id=payload.pairing_id, device_psk=device_psk)
            decision["static"] = message1.initiator_static
            return secret, Message2Payload.pairing(device_psk)
        known = await sync_to_async(devices.active_device)(message1.initiator_static)
        if known is None:
            await auditing.aauth_failed(
                "unknown, pending or revoked device", ip=None, actor="relay"
            )
            return None
        decision.update(
            mode="device", device=CallingDevice(known.device_id, known.name, known.fingerprint)
        )
        return known.psk, Message2Payload.device()

    async def _finish_pairing(self, outer: OuterChannel, established, decision: dict) -> None:
        session = ChannelSession(outer, established.secure, Role.SERVER)
        await session.start()
        try:
            event = await session.next_control(timeout=PAIR_CONFIRM_TIMEOUT)
            if not isinstance(event, PairConfirmReceived):
                return
            try:
                paired = await sync_to_async(directory().complete_pairing)(
                    decision["pairing_id"],
                    decision["static"],
                    event.device_name,
                    event.platform,
                    established.sas,
                    decision["device_psk"],
                )
            except PairingRefused as exc:
                log.info("pairing could not complete: %s", exc)
                await session.send_pair_result(PairStatus.REFUSED)
                return
            status = PairStatus.ACTIVE if paired.active else PairStatus.PENDING
            await session.send_pair_result(status)
            # Give the phone a moment to read the result before the channel ends.
            with contextlib.suppress(TimeoutError):
                await session.next_control(timeout=5)
        except TimeoutError:
            log.info("channel %s: no PAIR_CONFIRM in time", outer.channel_id)
        finally:
            await session.close()

    async def _serve_device(self, outer: OuterChannel, established, device: CallingDevice) -> None:
        async def on_stream(stream: Stream) -> None:
            await self.serve_stream(stream, device)

        session = ChannelSession(outer, established.secure, Role.SERVER, on_stream=on_stream)
        self.live[id(outer)] = LiveChannel(device, session)
        await auditing.achannel_opened(device.fingerprint)
        try:
            await session.start()
            while not session.closed.is_set():
                event = await session.next_control()
                if isinstance(event, ChannelClosed | ConnectionTerminated):
                    break
        except (RelayError, ProtocolError) as exc:
            log.info("channel %s ended: %s", outer.channel_id, exc)
        finally:
            self.live.pop(id(outer), None)
            await session.close()
            await auditing.achannel_closed(device.fingerprint, session.close_reason[:40])

    async def close_revoked(self) -> int:
        """Close live channels whose device is no longer active; returns how many."""
        # Only the channels asked about: one whose handshake finished while the query ran was
        # not in ``ids``, and its device was active a moment ago (the next poll checks it).
        snapshot = list(self.live.values())
        if not snapshot:
            return 0
        ids = {live.device.device_id for live in snapshot}
        active = await sync_to_async(directory().active_device_ids)(ids)
        closed = 0
        for live in snapshot:
            if live.device.device_id not in active:
                await live.session.close(CloseCode.DEVICE_REVOKED, "this device was revoked")
                closed += 1
        return closed

    async def watch_revocations(self) -> None:
        """Close revoked devices' channels within a second, whichever process revoked them, and
        keep the relay's list of routing tokens in step with devices and pairings."""
        while True:
            await asyncio.sleep(REVOCATION_POLL_SECONDS)
            try:
                await self.close_revoked()
                await self.sync_routes()
            except Exception:
                log.exception("revocation or routing check failed")

    async def sync_routes(self, *, force: bool = False) -> None:
        """Send the routing-token hashes to the relay when they changed (or when forced)."""
        if self.routes_sink is None:
            return
        hashes = await sync_to_async(directory().routing_hashes)()
        if not force and hashes == self._sent_routes:
            return
        await self.routes_sink(hashes)  # as many ROUTES frames as the list needs
        self._sent_routes = hashes

    def online_fingerprints(self) -> list[str]:
        """Fingerprints of devices with an open channel."""
        return sorted({live.device.fingerprint for live in self.live.values()})
