"""The worker's registry of relay sockets, its cross-worker inbox and its housekeeping tasks.

One hub per event loop (daphne and uvicorn run one loop per process). Sockets on the same
worker hand frames to each other directly; frames for a socket on another worker go through
the channel layer to that worker's single inbox channel, which one reader task drains. That
keeps Redis subscriptions to one per worker however many sockets it holds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
import uuid
import weakref
from typing import TYPE_CHECKING, Any

from channels.layers import get_channel_layer
from django.conf import settings

from relay.admission import Admission
from relay.presence import Address, LocalPresence, RedisPresence
from relay.ratelimit import ConcurrencyCounter, KeyedBuckets
from relayproto.control import Drain, encode_control

if TYPE_CHECKING:
    from relay.consumers import InstanceSocket, RelaySocket

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
WORKER_TTL = 6
INSTANCE_TTL = 90
REFRESH_SECONDS = 2.0

_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """The hub of the running event loop, created on first use."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub(loop)
    return hub


class Hub:
    """Registry, inbox reader, heartbeat sweeper and drain coordinator of one worker."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.worker_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.sockets: dict[str, RelaySocket] = {}
        self.instances: dict[str, InstanceSocket] = {}
        self.layer = get_channel_layer()
        self.inbox: str | None = None
        self.admission: Admission | None = None
        self.draining = False
        self.window = settings.PULSE_RELAY_WINDOW_BYTES
        self.max_frame = settings.PULSE_MAX_FRAME_BYTES
        self.handshake_timeout = settings.PULSE_RELAY_HANDSHAKE_TIMEOUT
        self.idle_timeout = settings.PULSE_RELAY_IDLE_TIMEOUT
        self.ping_interval = settings.PULSE_RELAY_PING_INTERVAL
        self.max_channels = settings.PULSE_RELAY_MAX_CHANNELS_PER_INSTANCE
        self.instance_rate = settings.PULSE_RELAY_INSTANCE_BYTES_PER_SECOND
        self.connects_per_ip = KeyedBuckets(settings.PULSE_RELAY_CONNECTS_PER_IP_PER_MINUTE)
        self.app_sockets_per_ip = ConcurrencyCounter(settings.PULSE_RELAY_MAX_APP_SOCKETS_PER_IP)
        redis_url = settings.REDIS_URL
        if redis_url:
            self.presence: LocalPresence | RedisPresence = RedisPresence(
                redis_url,
                f"{settings.CHANNEL_LAYERS['default']['CONFIG'].get('prefix', 'pulse')}:relay",
                INSTANCE_TTL,
                WORKER_TTL,
            )
        else:
            self.presence = LocalPresence()
        self._started = False
        self._start_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        self.last_redis_error: str | None = None
        self._probes: dict[str, asyncio.Future] = {}

    # --- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the inbox and start the housekeeping tasks (idempotent)."""
        if self._started:
            return
        async with self._start_lock:
            if self._started:
                return
            self.admission = Admission.from_settings()
            if self.layer is not None:
                self.inbox = await self.layer.new_channel(prefix="relay-inbox.")
                self._tasks.append(self.loop.create_task(self._read_inbox()))
            self._tasks.append(self.loop.create_task(self._sweep()))
            if self.presence.shared:
                await self._refresh_presence()
                self._tasks.append(self.loop.create_task(self._keep_presence()))
            self._install_sigterm()
            self._started = True
            log.info("relay worker %s started (inbox %s)", self.worker_id, self.inbox)

    async def probe(self, within: float) -> str | None:
        """Send a message through the channel layer to our own inbox; None when it arrives."""
        try:
            await asyncio.wait_for(self.start(), within)
        except Exception as exc:
            return f"the relay could not start: {exc.__class__.__name__}: {exc}"
        if self.inbox is None:
            return "no channel layer is configured"
        token = uuid.uuid4().hex
        waiter = self._probes[token] = self.loop.create_future()
        try:
            await asyncio.wait_for(
                self.layer.send(self.inbox, {"type": "relay.probe", "token": token}), within
            )
            await asyncio.wait_for(waiter, within)
        except Exception as exc:
            return f"the channel layer did not answer: {exc.__class__.__name__}: {exc}".rstrip(": ")
        finally:
            self._probes.pop(token, None)
        if self.presence.shared:
            try:
                await asyncio.wait_for(self.presence.ping(), within)
            except Exception as exc:
                return f"Redis did not answer: {exc.__class__.__name__}: {exc}"
        return None

    def address_of(self, socket: RelaySocket) -> Address:
        """The address other workers use to reach a socket of this worker."""
        return Address(inbox=self.inbox or "", socket=socket.socket_id, worker=self.worker_id)

    def add(self, socket: RelaySocket) -> None:
        """Register an accepted socket."""
        self.sockets[socket.socket_id] = socket

    def remove(self, socket: RelaySocket) -> None:
        """Forget a closed socket."""
        self.sockets.pop(socket.socket_id, None)

    # --- cross-worker ---------------------------------------------------------------------------
    async def send_remote(self, address: Address, message: dict[str, Any]) -> None:
        """Send a message to a socket on another worker through the channel layer."""
        message["to"] = address.socket
        await self.layer.send(address.inbox, message)

    async def _read_inbox(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.inbox)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a vanished Redis: keep trying, report through /readyz
                self.last_redis_error = str(exc)
                log.warning("relay inbox receive failed: %s", exc)
                await asyncio.sleep(1.0)
                continue
            if message.get("type") == "relay.probe":
                waiter = self._probes.pop(message.get("token"), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(True)
                continue
            socket = self.sockets.get(message.get("to", ""))
            try:
                if socket is not None:
                    await socket.handle_remote(message)
                else:
                    await self._undeliverable(message)
            except Exception:
                log.exception("relay inbox message %s failed", message.get("type"))

    async def _undeliverable(self, message: dict[str, Any]) -> None:
        """Tell the sender that the socket it wrote to is gone, so its channel closes."""
        reply_to = message.get("from")
        if message.get("type") in ("relay.frame", "relay.open") and reply_to:
            kind = "relay.refused" if message["type"] == "relay.open" else "relay.gone"
            await self.send_remote(
                Address(*reply_to),
                {
                    "type": kind,
                    "cid": message.get("cid"),
                    "ref": message.get("ref"),
                    "code": "INSTANCE_OFFLINE" if kind == "relay.refused" else "PEER_GONE",
                    "message": "the other end is no longer connected",
                },
            )

    async def _refresh_presence(self) -> None:
        try:
            await self.presence.refresh(
                {iid: self.address_of(sock) for iid, sock in self.instances.items()},
                self.worker_id,
            )
            self.last_redis_error = None
        except Exception as exc:
            self.last_redis_error = str(exc)
            log.warning("relay presence refresh failed: %s", exc)

    async def _keep_presence(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            await self._refresh_presence()
            await self._close_channels_of_dead_workers()

    async def _close_channels_of_dead_workers(self) -> None:
        remote_workers = {
            end.peer.worker
            for socket in list(self.sockets.values())
            for end in socket.channels.values()
            if isinstance(end.peer, Address)
        }
        if not remote_workers:
            return
        try:
            dead = await self.presence.dead_workers(remote_workers)
        except Exception as exc:
            self.last_redis_error = str(exc)
            return
        for socket in list(self.sockets.values()):
            for cid, end in list(socket.channels.items()):
                if isinstance(end.peer, Address) and end.peer.worker in dead:
                    await socket.peer_gone(cid, "PEER_GONE", "the relay worker of the peer stopped")

    # --- heartbeats and timeouts ----------------------------------------------------------------
    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now = time.monotonic()
            for socket in list(self.sockets.values()):
                try:
                    await socket.housekeeping(now)
                except Exception:
                    log.exception("housekeeping of socket %s failed", socket.socket_id)

    # --- draining -------------------------------------------------------------------------------
    def _install_sigterm(self) -> None:
        try:
            previous = signal.getsignal(signal.SIGTERM)
        except ValueError:
            return
        if getattr(previous, "_pulse_drain", False):
            return

        def on_sigterm(signum, frame):
            if self.loop.is_closed():
                _chain(previous, signum, frame)
                return
            self.loop.call_soon_threadsafe(
                lambda: self.loop.create_task(self.drain_then(previous, signum, frame))
            )

        on_sigterm._pulse_drain = True  # type: ignore[attr-defined]
        try:
            signal.signal(signal.SIGTERM, on_sigterm)
        except ValueError:  # not the main thread: the server keeps its own handling
            return

    async def drain(self, grace: float | None = None) -> None:
        """Send DRAIN to every socket, give them ``grace`` seconds to leave, then close the rest."""
        if self.draining:
            return
        self.draining = True
        grace = settings.PULSE_RELAY_DRAIN_GRACE if grace is None else grace
        log.info("relay worker %s draining %d sockets", self.worker_id, len(self.sockets))
        from relay import audit_hooks

        await audit_hooks.drained(self.worker_id, len(self.sockets))
        frame = encode_control(Drain(retry_after=max(1, int(grace) or 1)))
        for socket in list(self.sockets.values()):
            await socket.send_frame_quietly(frame)
        deadline = time.monotonic() + grace
        while self.sockets and time.monotonic() < deadline:  # noqa: ASYNC110 - bounded poll
            await asyncio.sleep(0.1)
        for socket in list(self.sockets.values()):
            await socket.close_with("SERVER_DRAINING", "the relay worker is shutting down")

    async def drain_then(self, previous, signum, frame) -> None:
        """Drain, then let the server's own SIGTERM handling stop the process."""
        try:
            await self.drain()
        finally:
            _chain(previous, signum, frame)


def _chain(previous, signum, frame) -> None:
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
