"""The worker's registry of relay sockets, its cross-worker inbox and its housekeeping tasks.

One hub per event loop (daphne and uvicorn run one loop per process). The hub owns the
registry's invariants: at most one socket per instance across all workers (a newer
registration supersedes the older, wherever it is), presence kept in step with it, and the
choice between handing a frame to a socket of this worker directly and sending it through the
channel layer to the other worker's single inbox channel, which one reader task drains. That
keeps Redis subscriptions to one per worker however many sockets it holds. Sockets (relay.sockets)
are thin: they parse headers, keep their channels' credit books and ask the hub for the rest.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
import uuid
import weakref
from typing import Any, Protocol

from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

from relay import events, messages, metrics
from relay.admission import Admission
from relay.presence import Address, LocalPresence, RedisPresence
from relay.shared_limits import SharedBuckets
from relayproto.control import Close, CloseReason, Drain, encode_control
from relayproto.frames import ErrorCode
from relayproto.ratelimit import ConcurrencyCounter

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
WORKER_TTL = 6
INSTANCE_TTL = 90
REFRESH_SECONDS = 2.0
# Cross-worker channels whose full windows a worker's Redis inbox should hold at once.
PUBSUB_WINDOWS = 16

_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


class RelaySocket(Protocol):
    """What the hub needs of a socket (relay.sockets implements it)."""

    socket_id: str
    channels: dict[int, Any]

    async def deliver(self, cid: int, data: bytes) -> None:
        """Send a frame from the channel's other end to this socket."""

    async def peer_gone(self, cid: int, code: str, message: str) -> None:
        """The channel's other end went away."""

    def enqueue_remote(self, message: dict[str, Any], size: int) -> None:
        """Queue a message from another worker for this socket (``size``: the bytes it counts
        against the hub's inbox capacity until it is handled)."""

    async def handle_remote(self, message: dict[str, Any]) -> None:
        """A message for this socket from another worker."""

    async def send_frame_quietly(self, data: bytes) -> None:
        """Send a frame unless the socket is gone."""

    async def close_with(self, code: str, message: str) -> None:
        """Close the socket with an ERROR saying why."""

    async def housekeeping(self, now: float) -> None:
        """Timeouts and heartbeats, once a second."""


class RoutingStoreAway(Exception):
    """The shared presence (Redis) did not answer, so a remote instance cannot be found."""


OVERLOADED_FULL = (
    "the relay worker at the other end could not take this channel's frames in time (its inbox "
    "was full); the channel was reset: open a new one"
)
OVERLOADED_LOST = (
    "frames of this channel were lost between relay workers (Redis dropped them); the channel "
    "was reset: open a new one"
)


def _draining() -> float:
    """1 while a hub of a running loop is leaving (the relay_draining gauge)."""
    return float(any(h.leaving for loop, h in list(_hubs.items()) if not loop.is_closed()))


def _inbox_bytes() -> float:
    """Bytes of frames in the cross-worker inboxes of this process's hubs (relay_inbox_bytes)."""
    return float(sum(h.inbox_bytes for loop, h in list(_hubs.items()) if not loop.is_closed()))


metrics.DRAINING.set_function(_draining)
metrics.INBOX_BYTES.set_function(_inbox_bytes)


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
        self.instances: dict[str, RelaySocket] = {}
        self.layer = get_channel_layer()
        self.inbox: str | None = None
        # Frames from other workers taken from the channel layer and queued for their sockets
        # (RelaySocket.enqueue_remote) may total this many bytes; one that does not fit resets
        # its channel.
        self.inbox_capacity = settings.PULSE_RELAY_INBOX_CAPACITY
        self.inbox_bytes = 0
        self.admission: Admission | None = None
        # Draining has two steps: ``leaving`` (readiness fails, so a balancer stops sending new
        # sockets here) and, after the notice, ``draining`` (DRAIN sent, new sockets refused).
        self.leaving = False
        self.draining = False
        self.window = settings.PULSE_RELAY_WINDOW_BYTES
        self.max_frame = settings.PULSE_MAX_FRAME_BYTES
        self.handshake_timeout = settings.PULSE_RELAY_HANDSHAKE_TIMEOUT
        self.idle_timeout = settings.PULSE_RELAY_IDLE_TIMEOUT
        self.ping_interval = settings.PULSE_RELAY_PING_INTERVAL
        self.max_channels = settings.PULSE_RELAY_MAX_CHANNELS_PER_INSTANCE
        self.max_routes = settings.PULSE_RELAY_MAX_ROUTES
        self.instance_rate = settings.PULSE_RELAY_INSTANCE_BYTES_PER_SECOND
        self.app_sockets_per_ip = ConcurrencyCounter(settings.PULSE_RELAY_MAX_APP_SOCKETS_PER_IP)
        self.hello_timeout = settings.PULSE_RELAY_HELLO_TIMEOUT
        self.output_high_water = settings.PULSE_RELAY_OUTPUT_HIGH_WATER
        self.output_hard_limit = max(
            settings.PULSE_RELAY_OUTPUT_HARD_LIMIT, 2 * settings.PULSE_RELAY_OUTPUT_HIGH_WATER
        )
        self.output_stall_timeout = settings.PULSE_RELAY_OUTPUT_STALL_TIMEOUT
        self.ungreeted_per_ip = ConcurrencyCounter(settings.PULSE_RELAY_MAX_UNGREETED_PER_IP)
        redis_host = settings.PULSE_REDIS_HOST
        if redis_host:
            self.presence: LocalPresence | RedisPresence = RedisPresence(
                redis_host,
                self._prefix(),
                INSTANCE_TTL,
                WORKER_TTL,
            )
        else:
            self.presence = LocalPresence()
        # Sockets plus CONNECTs per address, counted over every worker (relay.shared_limits).
        self.connects_per_ip = SharedBuckets(
            getattr(self.presence, "redis", None),
            self._prefix(),
            "connects",
            settings.PULSE_RELAY_CONNECTS_PER_IP_PER_MINUTE,
        )
        self._started = False
        self._start_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        self.last_redis_error: str | None = None
        self._probes: dict[str, asyncio.Future] = {}
        self._resets: set[asyncio.Task] = set()

    @staticmethod
    def _prefix() -> str:
        """Where this relay's keys live in Redis (shared by its workers)."""
        config = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
        return f"{config.get('prefix', 'pulse')}:relay"

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
                self._watch_inbox_connection()
                self._tasks.append(self.loop.create_task(self._read_inbox()))
            self._tasks.append(self.loop.create_task(self._sweep()))
            if self.presence.shared:
                await self._refresh_presence()
                self._tasks.append(self.loop.create_task(self._keep_presence()))
                self._tasks.append(self.loop.create_task(self._check_pubsub_buffer()))
            self._install_sigterm()
            self._started = True
            metrics.WORKER.labels(self.worker_id).set(1)
            log.info("relay worker %s started (inbox %s)", self.worker_id, self.inbox)

    @property
    def started(self) -> bool:
        """Whether the hub has started (its inbox and tasks exist)."""
        return self._started

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
            await asyncio.wait_for(self.layer.send(self.inbox, messages.probe(token)), within)
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

    def note_redis_error(self, exc: BaseException, op: str = "presence") -> None:
        """Remember a failed Redis call for /readyz (cleared by the next good refresh) and
        count it by operation (presence, channel_send, channel_receive)."""
        self.last_redis_error = str(exc)
        metrics.REDIS_ERRORS.labels(op).inc()

    # --- instances ------------------------------------------------------------------------------
    def local_instance(self, instance_id: str) -> RelaySocket | None:
        """The socket of this worker that holds the instance, if any."""
        return self.instances.get(instance_id)

    async def register_instance(self, socket: RelaySocket, instance_id: str) -> None:
        """Make ``socket`` the instance's only socket: a local one registered before is closed
        with DUPLICATE_INSTANCE, one on another worker is told through the layer."""
        previous = self.instances.get(instance_id)
        if previous is not None and previous is not socket:
            await previous.close_with(
                ErrorCode.DUPLICATE_INSTANCE,
                "a newer connection registered this instance; this one is closed",
            )
        self.instances[instance_id] = socket
        try:
            older = await self.presence.claim(instance_id, self.address_of(socket))
        except Exception as exc:  # Redis away: local apps still work; the refresher retries
            self.note_redis_error(exc)
            older = None
        if older is not None:
            try:
                await self.send_remote(older, messages.superseded())
            except Exception as exc:
                log.warning("could not close the older registration: %s", exc)

    async def unregister_instance(self, socket: RelaySocket, instance_id: str) -> None:
        """Forget the instance's socket and its presence, unless a newer socket took over."""
        if self.instances.get(instance_id) is not socket:
            return
        del self.instances[instance_id]
        try:
            await self.presence.release(instance_id, self.address_of(socket))
        except Exception as exc:
            self.note_redis_error(exc)

    async def locate_instance(self, instance_id: str) -> Address | None:
        """Where an instance not on this worker is connected (None: nowhere); raises
        RoutingStoreAway when Redis does not answer."""
        try:
            return await self.presence.lookup(instance_id)
        except Exception as exc:
            self.note_redis_error(exc)
            raise RoutingStoreAway(str(exc)) from exc

    # --- delivery between a channel's two ends ----------------------------------------------------
    async def forward(
        self, origin: RelaySocket, cid: int, peer: RelaySocket | Address, data: bytes, seq: int = 0
    ) -> bool:
        """Hand a frame to the channel's other end, in process or through the layer (``seq``
        numbers a channel's frames between workers, so a loss is seen); False when the other
        worker could not be reached (the caller closes the channel)."""
        if type(peer) is Address:
            try:
                await self.send_remote(
                    peer, messages.frame(cid, data, self.address_of(origin), seq)
                )
            except Exception as exc:
                self.note_redis_error(exc, "channel_send")
                log.warning("cross-worker send failed: %s", exc)
                return False
            metrics.DELIVERED_CROSS_WORKER.inc()
            return True
        await peer.deliver(cid, data)
        metrics.DELIVERED_LOCAL.inc()
        return True

    async def tell_gone(
        self, peer: RelaySocket | Address, cid: int, code: str, message: str
    ) -> None:
        """Tell the channel's other end, wherever it is, that this end went away."""
        if type(peer) is Address:
            try:
                await self.send_remote(peer, messages.gone(cid, code, message))
            except Exception as exc:
                self.note_redis_error(exc, "channel_send")
                log.warning("could not tell a remote peer that channel %s closed: %s", cid, exc)
        else:
            await peer.peer_gone(cid, code, message)

    async def reply(self, address: Address, message: dict[str, Any]) -> bool:
        """Answer a remote socket; False (logged) when the layer is away."""
        try:
            await self.send_remote(address, message)
        except Exception as exc:
            self.note_redis_error(exc, "channel_send")
            log.warning("could not answer %s: %s", message.get("type"), exc)
            return False
        return True

    # --- cross-worker ---------------------------------------------------------------------------
    async def send_remote(self, address: Address, message: dict[str, Any]) -> None:
        """Send a message to a socket on another worker through the channel layer."""
        message["to"] = address.socket
        await self.layer.send(address.inbox, message)

    async def _read_inbox(self) -> None:
        """Take messages from the channel layer and queue each for its socket.

        The reader never waits for a socket: a server that applies backpressure (uvicorn
        waits while a peer does not read) would otherwise hold up every socket of the worker.
        Queued frames count against the inbox's capacity; a frame that does not fit resets its
        channel (RELAY_OVERLOADED at both ends) instead of growing the worker's memory."""
        while True:
            try:
                message = await self.layer.receive(self.inbox)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a vanished Redis: keep trying, report through /readyz
                self.note_redis_error(exc, "channel_receive")
                log.warning("relay inbox receive failed: %s", exc)
                await asyncio.sleep(1.0)
                continue
            kind = message.get("type")
            if kind == messages.PROBE:
                self._probe_arrived(message.get("token"))
                continue
            try:
                socket = self.sockets.get(message.get("to", ""))
                if socket is None:
                    await self.undeliverable(message)
                    continue
                size = len(message["data"]) if kind == messages.FRAME else 0
                if size and self.inbox_bytes + size > self.inbox_capacity:
                    self._start(self._reset(message, "full", OVERLOADED_FULL))
                    continue
                self.inbox_bytes += size
                socket.enqueue_remote(message, size)
            except Exception:
                log.exception("relay inbox message %s failed", kind)

    def _start(self, work) -> None:
        """Run ``work`` (a coroutine, or None: nothing) as a task the hub keeps until it ends."""
        if work is None:
            return
        task = self.loop.create_task(work)
        self._resets.add(task)
        task.add_done_callback(self._resets.discard)

    async def reset_channel(self, message: dict[str, Any], reason: str, text: str) -> None:
        """Reset the channel a frame from another worker was for, because it could not be
        delivered (``reason``: full, lost): CLOSE with RELAY_OVERLOADED to this worker's end and
        the same to the sender's end, counted in relay_inbox_resets_total."""
        telling = self._reset(message, reason, text)
        if telling is not None:
            await telling

    def _reset(self, message: dict[str, Any], reason: str, text: str):
        """Forget the channel's end at once (so later frames of it find no end and go with it,
        and it is reset and counted once); returns what tells both ends, None when the channel
        was already over."""
        socket = self.sockets.get(message.get("to", ""))
        cid = message.get("cid")
        if socket is None or cid not in socket.channels:
            return None
        end = socket.channels.pop(cid)
        socket.channel_closed(cid, end)
        metrics.INBOX_RESETS.labels(reason).inc()
        metrics.CLOSES.labels("channel", ErrorCode.RELAY_OVERLOADED).inc()
        events.limit_hit("inbox", ErrorCode.RELAY_OVERLOADED, None, f"{reason}: channel {cid}")
        return self._tell_reset(socket, cid, message.get("from"), text)

    async def _tell_reset(self, socket: RelaySocket, cid: int, origin, text: str) -> None:
        # The sender's end first: this socket may be the one not reading.
        if origin:
            gone = messages.gone(cid, ErrorCode.RELAY_OVERLOADED, text)
            await self.reply(Address(*origin), gone)
        close = Close(code=CloseReason(ErrorCode.RELAY_OVERLOADED), message=text)
        await socket.send_frame_quietly(encode_control(close, cid))

    def _probe_arrived(self, token: Any) -> None:
        waiter = self._probes.pop(token, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    def _watch_inbox_connection(self) -> None:
        """Be told when the inbox's Redis subscription reconnects: Redis drops a subscriber
        that falls behind (its pub/sub output-buffer limit) with everything it held for it, and
        a Redis restart or a Sentinel failover loses what was in flight, so channels from other
        workers may have lost frames. The pub/sub layer reconnects without a word; redis-py's
        connect callbacks are the one place that sees it."""
        if not isinstance(self.layer, RedisPubSubChannelLayer):
            return  # the in-memory layer of a single process: no other workers
        try:
            shard = self.layer._get_layer()._get_shard(self.inbox)
            shard._pubsub.connection.register_connect_callback(self._inbox_reconnected)
        except AttributeError as exc:
            raise RuntimeError(
                "channels-redis's pub/sub layer changed, so the relay cannot see its inbox "
                "reconnect: pin channels-redis to the version in requirements.txt, or adapt "
                f"Hub._watch_inbox_connection ({exc})"
            ) from exc

    async def _inbox_reconnected(self, connection: Any) -> None:
        """redis-py reconnected the inbox's subscription (see _watch_inbox_connection)."""
        self._reset_remote_channels()

    def _reset_remote_channels(self) -> None:
        """Reset every channel whose other end is on another worker (Redis may have lost
        frames of any of them), counted as ``lost``."""
        count = 0
        for socket in list(self.sockets.values()):
            for cid, end in list(socket.channels.items()):
                if isinstance(end.peer, Address):
                    count += 1
                    lost = {"to": socket.socket_id, "cid": cid, "from": messages.sender(end.peer)}
                    self._start(self._reset(lost, "lost", OVERLOADED_LOST))
        log.warning(
            "the inbox's Redis subscription was lost and reconnected, with what Redis held for "
            "it: reset %d channels to other workers; if Redis cut it off for falling behind, "
            'raise its pub/sub output-buffer limit (docs/operations.md, "Several workers")',
            count,
        )

    async def undeliverable(self, message: dict[str, Any]) -> None:
        """Tell the sender that the socket it wrote to is gone, so its channel closes."""
        reply_to = message.get("from")
        if not reply_to:
            return
        text = "the other end is no longer connected"
        if message.get("type") == messages.OPEN:
            answer = messages.refused(
                message.get("cid"), message.get("ref"), "INSTANCE_OFFLINE", text
            )
        elif message.get("type") in (messages.FRAME, messages.OPENED):
            # An OPENED for an app socket that left: close the instance's end, or it lingers.
            answer = messages.gone(message.get("cid"), "PEER_GONE", text)
        else:
            return
        await self.send_remote(messages.reply_address(message), answer)

    async def _refresh_presence(self) -> None:
        try:
            await self.presence.refresh(
                {iid: self.address_of(sock) for iid, sock in self.instances.items()},
                self.worker_id,
            )
            self.last_redis_error = None
        except Exception as exc:
            self.note_redis_error(exc)
            log.warning("relay presence refresh failed: %s", exc)

    async def _keep_presence(self) -> None:
        rounds = 0
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            await self._refresh_presence()
            await self._close_channels_of_dead_workers()
            if rounds % 5 == 0:  # every 10 s: the share of a shared limit a worker keeps alone
                try:
                    self.connects_per_ip.set_workers(await self.presence.live_workers())
                except Exception as exc:
                    self.note_redis_error(exc)
            rounds += 1

    async def _check_pubsub_buffer(self) -> None:
        """Warn at start when Redis would disconnect this worker's inbox subscription before
        PUBSUB_WINDOWS cross-worker channels' windows could be in it at once (Redis's default
        pub/sub limit is 32 MiB, eight 4 MiB windows)."""
        try:
            limit = await asyncio.wait_for(self.presence.pubsub_buffer_limit(), 5)
        except Exception as exc:  # managed Redis often refuses CONFIG: say so, carry on
            log.info("could not read Redis's pub/sub output-buffer limit (%s)", exc)
            return
        need = PUBSUB_WINDOWS * self.window
        if limit and limit < need:
            log.warning(
                "Redis disconnects a pub/sub subscriber past %d bytes of output buffer, but %d "
                "cross-worker channels with full %d-byte windows need %d: raise it (CONFIG SET "
                'client-output-buffer-limit "pubsub 512mb 256mb 60", or in redis.conf) or '
                'lower PULSE_RELAY_WINDOW_BYTES (docs/operations.md, "Several workers")',
                limit,
                PUBSUB_WINDOWS,
                self.window,
                need,
            )
        metrics.REDIS_PUBSUB_LIMIT.set(limit)

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
            self.note_redis_error(exc)
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

    async def drain(self, grace: float | None = None, notice: float | None = None) -> None:
        """Leave gracefully: fail readiness for ``notice`` seconds (a balancer's health checks
        then send new sockets to other workers), send DRAIN to every socket, give them
        ``grace`` seconds to leave, then close the rest with SERVER_DRAINING."""
        if self.leaving:
            return
        self.leaving = True
        grace = settings.PULSE_RELAY_DRAIN_GRACE if grace is None else grace
        notice = settings.PULSE_RELAY_DRAIN_NOTICE if notice is None else notice
        log.info(
            "relay worker %s leaving: readiness fails now, DRAIN in %s s", self.worker_id, notice
        )
        if notice > 0:
            # Sockets that arrive meanwhile are accepted: the DRAIN below moves them too.
            await asyncio.sleep(notice)
        self.draining = True
        log.info("relay worker %s draining %d sockets", self.worker_id, len(self.sockets))
        events.worker_draining(self.worker_id, len(self.sockets))
        retry_after = settings.PULSE_RELAY_DRAIN_RETRY_AFTER
        if retry_after is None:  # alone, come back when the worker is back; behind a balancer, now
            retry_after = 0 if notice > 0 else max(1, int(grace) or 1)
        frame = encode_control(Drain(retry_after=retry_after))
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
