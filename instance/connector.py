"""The instance's outbound connection to its relay, kept up while relay is enabled.

The connector reads the effective settings (relay.enc plus environment overrides) every
second, so enabling, disabling or changing the relay takes effect within two seconds. It
reconnects with exponential backoff (1 s doubling to 5 min, ±20 % jitter, reset after a
healthy session), follows DRAIN, pauses on licence errors until the licence changes, and
publishes its status for the settings API and `manage.py relay_status`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings

from instance import auditing, relay_settings, status
from instance.responder import CallingDevice, Responder, StreamServer
from relayproto.connection import InstanceConnection, RelayError
from relayproto.session import Stream

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
STATUS_SECONDS = 5.0
FIRST_DELAY = 1.0
MAX_DELAY = 300.0
HEALTHY_AFTER = 60.0
LICENCE_ERRORS = {"LICENSE_INVALID", "LICENSE_EXPIRED", "LICENSE_REVOKED", "FEATURE_MISSING"}


async def _first_of(first: asyncio.Event, second: asyncio.Event, timeout: float) -> None:
    """Wait until either event is set, or ``timeout`` seconds."""
    waiters = {asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())}
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def backoff_delay(attempt: int, rng: Callable[[float, float], float] = random.uniform) -> float:
    """Seconds before reconnect attempt ``attempt`` (0-based): 1, 2, 4 ... 300, ±20 %."""
    base = min(MAX_DELAY, FIRST_DELAY * (2**attempt))
    return base * rng(0.8, 1.2)


@dataclass(frozen=True)
class Target:
    """What the connector needs to connect; equal targets mean nothing changed."""

    enabled: bool
    url: str
    licence: str
    instance_id: str
    problem: str = ""
    # A rotated identity key changes the target, so live channels move to the new key.
    identity: str = ""

    @property
    def ready(self) -> bool:
        """Whether a connection can be attempted."""
        return self.enabled and not self.problem


def read_target() -> Target:
    """The effective relay settings as a connection target (never raises)."""
    try:
        current = relay_settings.current()
        licence = relay_settings.licence_token() if current.enabled else ""
    except Exception as exc:  # a corrupt relay.enc must show in the status, not kill the loop
        return Target(False, "", "", "", problem=f"relay settings unreadable: {exc}")
    url = relay_settings.instance_socket_url(current.server_url, current.instance_id)
    problem = ""
    if current.enabled:
        if not url:
            problem = "no relay server URL is set: set it in Settings → Relay"
        elif not licence:
            problem = "no licence is stored: paste the licence from your relay operator"
        elif not current.instance_id:
            problem = "the stored licence cannot be read: paste it again"
    return Target(
        current.enabled, url, licence, current.instance_id, problem, current.identity_fingerprint
    )


def tunnel_stream_server() -> StreamServer:
    """Serve streams through the tunnel to the local service."""
    from instance.tunnel import Tunnel, TunnelDevice

    tunnel = Tunnel()

    async def serve(stream: Stream, device: CallingDevice) -> None:
        await tunnel.serve(stream, TunnelDevice(device_id=str(device.device_id), name=device.name))

    return serve


class Connector:
    """Keeps one socket to the relay while enabled; answers channels through a Responder."""

    def __init__(self, stream_server: StreamServer | None = None) -> None:
        self.stream_server = stream_server
        self.connection: InstanceConnection | None = None
        # A drained socket kept registered until its successor has registered (see _session).
        self._handover: InstanceConnection | None = None
        self.responder: Responder | None = None
        self.resume_token: str | None = None
        self.attempt = 0
        self.state = status.ConnectorStatus()
        self._stopping = False

    # -- status ------------------------------------------------------------------------------
    async def _publish(self, state: str, **fields) -> None:
        responder = self.responder
        connection = self.connection
        self.state = status.ConnectorStatus(
            state=state,
            instance_id=fields.pop("instance_id", self.state.instance_id),
            registered=fields.pop("registered", False),
            open_channels=connection.open_channels if connection and state == "connected" else 0,
            last_error=fields.pop("last_error", self.state.last_error),
            next_retry_at=fields.pop("next_retry_at", None),
            updated_at=time.time(),
            online_devices=responder.online_fingerprints() if responder else [],
            pid=os.getpid(),
        )
        try:
            await sync_to_async(status.publish)(self.state)
        except OSError as exc:
            log.warning("cannot write the connector status: %s", exc)

    # -- main loop ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Run until cancelled."""
        watcher: asyncio.Task | None = None
        try:
            while True:
                target = await sync_to_async(read_target)()
                if not target.ready:
                    await self._end_handover()
                    await self._publish(
                        "error" if target.problem and target.enabled else "disabled",
                        last_error=target.problem,
                        instance_id=target.instance_id,
                    )
                    await self._wait_for_change(target, None)
                    continue
                await sync_to_async(relay_settings.ensure_identity)()
                identity = await sync_to_async(relay_settings.identity_private_key)()
                if watcher is None:
                    self.responder = Responder(
                        target.instance_id, identity, self.stream_server or tunnel_stream_server()
                    )
                    watcher = asyncio.get_running_loop().create_task(
                        self.responder.watch_revocations()
                    )
                self.responder.instance_id = target.instance_id
                self.responder.identity_private = identity
                delay = await self._session(target)
                if delay is None:
                    continue  # settings changed: connect again right away (or stay off)
                if self.state.state != "error":
                    await self._publish(
                        "backoff", next_retry_at=time.time() + delay, instance_id=target.instance_id
                    )
                await self._wait_for_change(target, delay)
        finally:
            if watcher is not None:
                watcher.cancel()
            if self.connection is not None:
                await self.connection.close()
            await self._end_handover()
            with contextlib.suppress(Exception):
                await self._publish("disabled", last_error="the connector stopped")

    async def _session(self, target: Target) -> float | None:
        """One connection: returns the delay before the next attempt, or None to retry now."""
        await self._publish("connecting", instance_id=target.instance_id)
        started = time.monotonic()
        try:
            self.connection = await InstanceConnection.connect(
                target.url, self.responder.handle_channel, ca_file=settings.PULSE_RELAY_CA_FILE
            )
            ack = await self.connection.register(
                target.licence, f"pulse-relay/{settings.VERSION}", self.resume_token
            )
        except RelayError as exc:
            return await self._failed(target, exc)
        except (TimeoutError, OSError) as exc:
            return await self._failed(target, RelayError("RELAY_UNREACHABLE", str(exc)))
        except Exception as exc:  # websockets' handshake errors and the like
            return await self._failed(target, RelayError("RELAY_UNREACHABLE", repr(exc)))
        self.resume_token = ack.resume_token
        if settings.PULSE_RELAY_ROUTING_TOKENS:
            self.responder.routes_sink = self.connection.send_routes
            try:
                await self.responder.sync_routes(force=True)
            except Exception as exc:  # a socket gone already shows in _hold
                log.warning("could not send routing tokens: %s", exc)
        if ack.instance_id != target.instance_id:
            log.warning(
                "relay says instance %s, licence says %s", ack.instance_id, target.instance_id
            )
        await sync_to_async(auditing.record)(
            auditing.RELAY_CONNECTED, actor="connector", details={"relay": target.url}
        )
        await self._publish(
            "connected", registered=True, instance_id=ack.instance_id, last_error=""
        )
        await self._end_handover()
        changed = await self._hold(target)
        self.responder.routes_sink = None
        connection, self.connection = self.connection, None
        if self._can_hand_over(connection, changed):
            # Make before break: the draining socket stays registered and keeps serving its
            # channels until the next connection (on another worker) has registered, so phones
            # never find the instance offline while it moves.
            self._handover = connection
        else:
            await connection.close()
        error = connection.error
        await sync_to_async(auditing.record)(
            auditing.RELAY_DISCONNECTED,
            actor="connector",
            details={"relay": target.url, "reason": str(error or "settings changed")[:200]},
        )
        if changed:
            self.attempt = 0
            return None
        if time.monotonic() - started > HEALTHY_AFTER:
            self.attempt = 0
        if connection.drain is not None:
            self.attempt = 0
            await self._publish("backoff", last_error="the relay is restarting (DRAIN)")
            # retry_after 0: a balancer has another worker ready; the jitter only spreads the
            # worker's instances over half a second. Otherwise the relay itself comes back.
            spread = 0.5 if connection.drain.retry_after == 0 else 2.0
            return connection.drain.retry_after + random.uniform(0, spread)
        return await self._failed(target, error or RelayError("PEER_GONE", "connection lost"))

    @staticmethod
    def _can_hand_over(connection: InstanceConnection, changed: bool) -> bool:
        """A DRAIN saying "reconnect now" (retry_after 0: a balancer has another worker) on a
        socket that is still open, with the same settings."""
        drain = connection.drain
        return (
            drain is not None
            and drain.retry_after == 0
            and not changed
            and not connection.closed.is_set()
        )

    async def _end_handover(self) -> None:
        """Close the drained socket kept through a handover, if any."""
        old, self._handover = self._handover, None
        if old is not None:
            with contextlib.suppress(Exception):
                await old.close()

    async def _failed(self, target: Target, error: RelayError) -> float:
        await self._end_handover()
        if self.connection is not None:
            await self.connection.close()
            self.connection = None
        code = getattr(error, "code", "RELAY_ERROR")
        log.warning("relay connection failed: %s", error)
        if code in LICENCE_ERRORS:
            await sync_to_async(auditing.record)(
                auditing.RELAY_REGISTRATION_FAILED,
                outcome=auditing.FAILURE,
                actor="connector",
                details={"code": code},
            )
            # A licence error will not fix itself: wait for a new licence, checking hourly.
            await self._publish("error", last_error=str(error), instance_id=target.instance_id)
            return 3600.0
        delay = backoff_delay(self.attempt)
        self.attempt += 1
        self.state = status.ConnectorStatus(instance_id=target.instance_id, last_error=str(error))
        return delay

    async def _hold(self, target: Target) -> bool:
        """Wait while connected; True when the settings changed, False when the socket ended."""
        last_status = time.monotonic()
        published = (self.responder.online_fingerprints(), self.connection.open_channels)
        while not self.connection.closed.is_set():
            await _first_of(self.connection.closed, self.connection.drained, POLL_SECONDS)
            if self.connection.closed.is_set():
                return False
            drain = self.connection.drain
            if drain is not None and drain.retry_after == 0:
                # DRAIN "reconnect now": another worker is ready behind a balancer; the next
                # connection takes the phones before this one closes (see _session). Any other
                # DRAIN: stay, so open channels finish within the relay's grace.
                return False
            if await sync_to_async(read_target)() != target:
                return True
            # Publish at once when a device comes or goes, so "online" on the page follows
            # within a second; otherwise every STATUS_SECONDS to show the connector is alive.
            activity = (self.responder.online_fingerprints(), self.connection.open_channels)
            if activity != published or time.monotonic() - last_status > STATUS_SECONDS:
                last_status, published = time.monotonic(), activity
                await self._publish(
                    "connected", registered=True, instance_id=target.instance_id, last_error=""
                )
        return False

    async def _wait_for_change(self, target: Target, timeout: float | None) -> None:
        """Sleep until ``timeout`` passes or the settings differ from ``target``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last_status = time.monotonic()
        while deadline is None or time.monotonic() < deadline:
            left = POLL_SECONDS if deadline is None else deadline - time.monotonic()
            await asyncio.sleep(max(0.0, min(POLL_SECONDS, left)))
            if await sync_to_async(read_target)() != target:
                self.attempt = 0
                return
            if time.monotonic() - last_status > STATUS_SECONDS:
                last_status = time.monotonic()
                await self._publish(
                    self.state.state,
                    last_error=self.state.last_error,
                    next_retry_at=self.state.next_retry_at,
                    instance_id=target.instance_id,
                )
