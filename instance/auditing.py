"""What the instance's code calls to leave an audit record, and the names of its events.

The hash-chained trail itself is the audit app's (which depends on this app): these functions
only send the signals of :mod:`instance.signals`, and the audit app's receivers write the rows.
With the audit app not installed they are no-ops, which is what a process without the instance
role wants anyway.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async

from instance import signals

SUCCESS = "success"
FAILURE = "failure"
DENIED = "denied"

SETTINGS_CHANGED = "settings.changed"
RELAY_CONNECTED = "relay.connected"
RELAY_DISCONNECTED = "relay.disconnected"
RELAY_REGISTRATION_FAILED = "relay.registration_failed"
CHANNEL_OPENED = "channel.opened"
CHANNEL_CLOSED = "channel.closed"
TOKEN_CREATED = "token.created"  # noqa: S105 - an event name
TOKEN_REVOKED = "token.revoked"  # noqa: S105 - an event name
AUTH_FAILED = "auth.failed"


def record(
    event: str,
    *,
    outcome: str = SUCCESS,
    actor: str = "",
    ip: str | None = None,
    details: dict | None = None,
) -> None:
    """Ask for one event in the audit trail (written in the caller's transaction)."""
    signals.audit_event.send(
        sender=record, event=event, outcome=outcome, actor=actor, ip=ip, details=details or {}
    )


async def arecord(
    event: str,
    *,
    outcome: str = SUCCESS,
    actor: str = "",
    ip: str | None = None,
    details: dict | None = None,
) -> None:
    """Async form of :func:`record` for the connector and the responder."""
    await sync_to_async(record, thread_sensitive=True)(
        event, outcome=outcome, actor=actor, ip=ip, details=details
    )


def auth_failed(reason: str, *, ip: str | None, actor: str = "") -> None:
    """An authentication failure (the audit app throttles these per address and reason)."""
    signals.auth_failed.send(sender=auth_failed, reason=reason, ip=ip, actor=actor)


async def aauth_failed(reason: str, *, ip: str | None, actor: str = "") -> None:
    """Async form of :func:`auth_failed`."""
    await sync_to_async(auth_failed, thread_sensitive=True)(reason, ip=ip, actor=actor)


def _channel_opened(fingerprint: str) -> None:
    signals.channel_opened.send(sender=achannel_opened, fingerprint=fingerprint)


def _channel_closed(fingerprint: str, reason: str) -> None:
    signals.channel_closed.send(sender=achannel_closed, fingerprint=fingerprint, reason=reason)


async def achannel_opened(fingerprint: str) -> None:
    """A channel of the device with this key fingerprint opened (aggregated by the audit app)."""
    await sync_to_async(_channel_opened, thread_sensitive=True)(fingerprint)


async def achannel_closed(fingerprint: str, reason: str = "") -> None:
    """A channel of the device with this key fingerprint closed, with a short reason code."""
    await sync_to_async(_channel_closed, thread_sensitive=True)(fingerprint, reason)
