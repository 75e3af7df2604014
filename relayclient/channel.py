"""Reaching an instance: relay sockets, one encrypted channel per call, and error translation.

Every protocol-level failure is translated here into a ClientError whose code says what
happened from the user's side (the instance is offline, the device was revoked, ...).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections.abc import Awaitable, Callable
from typing import Protocol

from relayclient import errors
from relayclient.errors import ClientError
from relayproto import socket_urls
from relayproto.connection import (
    AppConnection,
    ChannelClosedError,
    OuterChannel,
    RelayError,
    tls_context,
)
from relayproto.e2e import Established, initiate
from relayproto.errors import HandshakeError, ProtocolError, StreamError
from relayproto.handshake import Message1Payload
from relayproto.inner import CloseCode
from relayproto.routing import routing_token
from relayproto.session import ChannelSession, Stream, StreamResetError
from relayproto.streams import ChannelClosed, ConnectionTerminated, Event, Role

log = logging.getLogger(__name__)

MAX_DRAIN_WAIT = 10.0
PAIRING_ROUTE_RETRIES = 8


class RelayLink(Protocol):
    """What the client needs from a relay socket (``AppConnection`` is the real one)."""

    closed: asyncio.Event

    async def open_channel(
        self, instance_id: str, *, routing_token: str | None = None
    ) -> OuterChannel:
        """CONNECT to an instance."""
        ...

    async def close(self) -> None:
        """Close the socket."""
        ...


ConnectionFactory = Callable[[str], Awaitable[RelayLink]]


def app_url(relay_url: str, instance_id: str = "") -> str:
    """The ``/ws/app?iid=<instance id>`` URL of a relay given by its base URL (as in the
    pairing link); the id lets a load balancer send the phone to its instance's worker."""
    return socket_urls.socket_url(relay_url, socket_urls.APP_PATH, instance_id)


async def connect_app(url: str) -> RelayLink:
    """The default factory: a real WebSocket to the relay (system CAs for wss://)."""
    return await AppConnection.connect(url)


def connect_app_trusting(ca_file: str | os.PathLike[str]) -> ConnectionFactory:
    """A factory whose wss:// sockets trust only the CA in ``ca_file`` (a relay or balancer
    with a private certificate)."""
    # Fail now, naming the file, rather than at the first call.
    tls_context("wss://check", ca_file)

    async def connect(url: str) -> RelayLink:
        return await AppConnection.connect(url, ca_file=ca_file)

    return connect


def relay_failure(exc: RelayError) -> ClientError:
    """A relay refusal as a ClientError that says what to do."""
    code = str(exc.code)
    if code == "INSTANCE_OFFLINE":
        return ClientError(
            errors.INSTANCE_OFFLINE,
            "the instance is not connected to the relay: check that it is running and that "
            "relay access is enabled in its settings",
        )
    if code in ("RATE_LIMITED", "SERVER_DRAINING", "ROUTING_UNAVAILABLE"):
        wait = f" in {exc.retry_after} s" if exc.retry_after is not None else " later"
        return ClientError(code, f"the relay asks to try again{wait} ({exc})")
    if code == "UNAUTHORIZED":
        return ClientError(code, f"the relay refused this client ({exc}): pair again")
    return ClientError(code, f"the relay refused the channel: {exc}")


class Connections:
    """Relay sockets by URL, reused for the channels of many calls."""

    def __init__(self, factory: ConnectionFactory = connect_app) -> None:
        self.factory = factory
        self._links: dict[str, RelayLink] = {}
        self._lock = asyncio.Lock()
        self._retiring: set[asyncio.Task] = set()

    async def _link(self, url: str) -> RelayLink:
        async with self._lock:
            link = self._links.get(url)
            if link is not None and not link.closed.is_set():
                if getattr(link, "drain", None) is None:
                    return link
                # The relay worker said DRAIN: new channels go over a new socket, which a
                # balancer sends to another worker; channels still open on the old one finish
                # there, and the old socket is closed once they have.
                del self._links[url]
                retiring = asyncio.get_running_loop().create_task(self._retire(link))
                self._retiring.add(retiring)
                retiring.add_done_callback(self._retiring.discard)
            try:
                link = await self.factory(url)
            except ClientError:
                raise
            except Exception as exc:  # DNS, refused, TLS, HTTP status, timeout: all unreachable
                raise ClientError(
                    errors.RELAY_UNREACHABLE,
                    f"cannot reach the relay at {url} ({type(exc).__name__}: {exc}): check the "
                    "network and the relay URL",
                ) from exc
            self._links[url] = link
            return link

    async def open_channel(
        self, relay_url: str, instance_id: str, secret: bytes, *, just_listed: bool = False
    ) -> OuterChannel:
        """A new channel to the instance, presenting the routing token derived from ``secret``
        (the device psk, or the pairing secret); one retry after a relay drain or a dead socket.
        ``just_listed`` (a new pairing, a device just approved): UNAUTHORIZED is retried for a
        few seconds, because the instance updates its relay's list within about a second."""
        url = app_url(relay_url, instance_id)
        token = routing_token(secret)
        unauthorized_tries = PAIRING_ROUTE_RETRIES if just_listed else 0
        attempt = 0
        while True:
            link = await self._link(url)
            try:
                return await link.open_channel(instance_id, routing_token=token)
            except RelayError as exc:
                if exc.code == "UNAUTHORIZED" and unauthorized_tries > 0:
                    unauthorized_tries -= 1
                    await asyncio.sleep(0.5)
                    continue
                retry = attempt == 0 and exc.code in ("SERVER_DRAINING", "PEER_GONE")
                attempt += 1
                if not retry:
                    raise relay_failure(exc) from exc
                delay = min(float(exc.retry_after or 0), MAX_DRAIN_WAIT)
                log.info("relay said %s; reconnecting in %.1f s", exc.code, delay)
                await self._drop(url, link)
                await asyncio.sleep(delay + random.uniform(0, 0.5))
            except ConnectionError:  # the cached socket died between calls
                await self._drop(url, link)
                attempt += 1
                if attempt > 1:
                    raise ClientError(
                        errors.RELAY_UNREACHABLE, f"the relay at {url} closed the connection"
                    ) from None

    async def _retire(self, link: RelayLink) -> None:
        """Close a drained socket when its last channel has closed (or after the drain wait)."""
        deadline = asyncio.get_running_loop().time() + MAX_DRAIN_WAIT
        try:
            while getattr(link, "in_use", 0) and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110 - bounded poll
                await asyncio.sleep(0.1)
        finally:
            with contextlib.suppress(Exception):
                await link.close()

    async def _drop(self, url: str, link: RelayLink) -> None:
        if self._links.get(url) is link:
            del self._links[url]
        with contextlib.suppress(Exception):
            await link.close()

    async def close(self) -> None:
        """Close every socket."""
        for retiring in list(self._retiring):
            retiring.cancel()  # each closes its drained socket on the way out
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
        links, self._links = list(self._links.values()), {}
        for link in links:
            with contextlib.suppress(Exception):
                await link.close()


def handshake_failure(exc: BaseException, *, pairing: bool, pending: bool) -> ClientError:
    """What a failed handshake means, for a pairing or a paired device (pending or not)."""
    if isinstance(exc, HandshakeError):
        return ClientError(
            errors.INSTANCE_KEY_MISMATCH,
            "the answer did not come from the instance whose key was pinned at pairing: someone "
            "between may be intercepting. Do not trust this relay; if the instance was "
            "reinstalled, `forget` it and pair again",
        )
    code = str(getattr(exc, "code", ""))
    silent = isinstance(exc, TimeoutError) or code == "HANDSHAKE_TIMEOUT"
    if silent and pairing:
        return ClientError(
            errors.PAIRING_USED,
            "the instance did not answer this pairing link: it was already used, expired on the "
            "instance or ran out of attempts; create a new one",
        )
    if silent and pending:
        return ClientError(
            errors.DEVICE_PENDING,
            "this device is waiting for approval: approve it on the instance (Settings → Relay "
            "→ devices), comparing the 6-digit code; if it was refused, pair again",
        )
    if silent:
        return ClientError(
            errors.UNKNOWN_DEVICE,
            "the instance does not know this device (unknown or revoked): pair again",
        )
    if code == "PEER_GONE":
        return ClientError(
            errors.INSTANCE_OFFLINE, "the instance went away during the handshake: try again"
        )
    if isinstance(exc, RelayError):
        return relay_failure(exc)
    return ClientError(errors.PROTOCOL_FAILURE, f"the handshake failed: {exc}")


async def handshake(
    outer: OuterChannel,
    *,
    instance_id: str,
    static_private: bytes,
    instance_public: bytes,
    psk: bytes,
    payload: Message1Payload,
    timeout: float,
    pending: bool = False,
) -> Established:
    """Run the phone's handshake on a fresh channel; ClientError (channel closed) on failure."""
    try:
        return await initiate(
            outer,
            instance_id=instance_id,
            static_private=static_private,
            instance_public=instance_public,
            psk=psk,
            payload=payload,
            timeout=timeout,
        )
    except (ProtocolError, TimeoutError) as exc:
        await outer.close()
        raise handshake_failure(exc, pairing=payload.kind == "pairing", pending=pending) from exc
    except BaseException:
        await outer.close()
        raise


class Channel:
    """One established encrypted channel (phone side) and the translation of its failures."""

    def __init__(self, session: ChannelSession) -> None:
        self.session = session
        self.events: list[Event] = []

    @classmethod
    async def start(cls, outer: OuterChannel, established: Established) -> Channel:
        """Wrap a finished handshake in a started session."""
        session = ChannelSession(outer, established.secure, Role.CLIENT)
        await session.start()
        return cls(session)

    def control_events(self) -> list[Event]:
        """Channel-level events seen so far (drained from the session, kept here)."""
        while not self.session.control.empty():
            self.events.append(self.session.control.get_nowait())
        return self.events

    def failure(self, exc: BaseException, stream: Stream | None = None) -> ClientError:
        """Translate an error from a stream or the session into a ClientError."""
        if isinstance(exc, ClientError):
            return exc
        for event in self.control_events():
            if isinstance(event, ChannelClosed):
                if event.code is CloseCode.DEVICE_REVOKED:
                    return ClientError(
                        errors.DEVICE_REVOKED,
                        "the instance revoked this device: `forget` it and pair again",
                    )
                if event.code is not CloseCode.NORMAL:
                    return ClientError(
                        errors.CHANNEL_CLOSED,
                        f"the instance closed the channel ({event.code.name}) {event.message}",
                    )
        reset = stream.reset_by if stream is not None else None
        if reset is not None and reset.remote:
            return ClientError(
                errors.STREAM_RESET,
                f"the instance aborted the request ({reset.code.name}): {reset.message}",
            )
        if any(isinstance(e, ConnectionTerminated) and e.truncated for e in self.events) or (
            isinstance(exc, StreamResetError | ChannelClosedError)
        ):
            return ClientError(
                errors.CHANNEL_LOST,
                f"the connection to the instance was lost mid-call; what arrived is incomplete "
                f"({exc})",
            )
        if isinstance(exc, StreamError | ProtocolError):
            return ClientError(errors.PROTOCOL_FAILURE, f"the instance broke the protocol: {exc}")
        return ClientError(errors.CHANNEL_LOST, f"the call failed: {exc}")

    async def close(self) -> None:
        """End the channel with the encrypted CLOSE and free it at the relay."""
        with contextlib.suppress(ProtocolError, ConnectionError):
            await self.session.close()
