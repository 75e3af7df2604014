"""What other code calls to write the audit trail (sync and async), and the event names.

``record`` never stores secrets: detail keys that name one (token, psk, secret, password,
signature, private key) are replaced by ``"[redacted]"``. Noisy sources are aggregated here:
channel opens/closes per device per window, and authentication failures per address per
minute, so a busy phone or a scanner cannot flood the log.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.conf import settings

from audit import chain
from audit.models import AuditEvent

# The instance's own events are named where it sends them (it cannot import this app).
from instance.auditing import (
    AUTH_FAILED,
    CHANNEL_CLOSED,
    CHANNEL_OPENED,
    FAILURE,
    SUCCESS,
)

IDENTITY_ROTATED = "identity.rotated"
PAIRING_CREATED = "pairing.created"
PAIRING_COMPLETED = "pairing.completed"
PAIRING_EXPIRED = "pairing.expired"
PAIRING_FAILED = "pairing.failed"
PAIRING_CANCELLED = "pairing.cancelled"
DEVICE_APPROVED = "device.approved"
DEVICE_APPROVAL_FAILED = "device.approval_failed"
DEVICE_RENAMED = "device.renamed"
DEVICE_REVOKED = "device.revoked"
AUDIT_PRUNED = chain.PRUNED_EVENT

_SECRET_KEY_NAME = re.compile(r"token|psk|secret|password|signature|private", re.IGNORECASE)
# Names that contain a secret-looking word but hold none.
_ALLOWED_NAMES = {"token_id", "token_name", "licence_token_id"}


def _scrub(value):
    if isinstance(value, dict):
        return {
            str(k): (
                "[redacted]"
                if _SECRET_KEY_NAME.search(str(k)) and str(k) not in _ALLOWED_NAMES
                else _scrub(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if isinstance(value, bytes):
        return "[bytes]"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def record(
    event: str,
    *,
    outcome: str = SUCCESS,
    actor: str = "",
    ip: str | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Append one event to the hash-chained audit trail."""
    return chain.append(event, outcome=outcome, actor=actor, ip=ip, details=_scrub(details or {}))


async def arecord(
    event: str,
    *,
    outcome: str = SUCCESS,
    actor: str = "",
    ip: str | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Async form of :func:`record` for consumers and the connector."""
    return await sync_to_async(record, thread_sensitive=True)(
        event, outcome=outcome, actor=actor, ip=ip, details=details
    )


# --- aggregation ------------------------------------------------------------------------------


@dataclass
class _Window:
    started: float
    opened: int = 0
    closed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


class ChannelActivity:
    """Aggregates channel opens/closes per device: the first of a window is logged at once,
    the rest as one summary event when the window ends (or on :meth:`flush`)."""

    def __init__(self, window_seconds: float | None = None) -> None:
        """Use ``PULSE_AUDIT_CHANNEL_WINDOW_SECONDS`` unless a window is given."""
        self._window = window_seconds
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    @property
    def window(self) -> float:
        """The aggregation window in seconds."""
        if self._window is not None:
            return self._window
        return float(getattr(settings, "PULSE_AUDIT_CHANNEL_WINDOW_SECONDS", 300))

    def _note(self, device: str, opened: bool, reason: str) -> list[tuple[str, dict]]:
        now = time.monotonic()
        to_write: list[tuple[str, dict]] = []
        with self._lock:
            win = self._windows.get(device)
            if win is not None and now - win.started >= self.window:
                to_write.extend(self._summaries(device, win))
                win = None
            if win is None:
                win = self._windows[device] = _Window(started=now)
                to_write.append(
                    (
                        CHANNEL_OPENED if opened else CHANNEL_CLOSED,
                        {"device": device, "count": 1, "reason": reason}
                        if not opened
                        else {"device": device, "count": 1},
                    )
                )
            elif opened:
                win.opened += 1
            else:
                win.closed += 1
                win.reasons[reason or "normal"] = win.reasons.get(reason or "normal", 0) + 1
        return to_write

    def _summaries(self, device: str, win: _Window) -> list[tuple[str, dict]]:
        out = []
        if win.opened:
            out.append(
                (
                    CHANNEL_OPENED,
                    {"device": device, "count": win.opened, "window_seconds": self.window},
                )
            )
        if win.closed:
            out.append(
                (
                    CHANNEL_CLOSED,
                    {
                        "device": device,
                        "count": win.closed,
                        "reasons": win.reasons,
                        "window_seconds": self.window,
                    },
                )
            )
        return out

    def opened(self, device: str) -> list[AuditEvent]:
        """Note that a channel for ``device`` (its key fingerprint) opened."""
        return [
            record(e, actor=f"device:{device}", details=d) for e, d in self._note(device, True, "")
        ]

    def closed(self, device: str, reason: str = "") -> list[AuditEvent]:
        """Note that a channel for ``device`` closed, with a short reason code."""
        return [
            record(e, actor=f"device:{device}", details=d)
            for e, d in self._note(device, False, reason)
        ]

    def flush(self) -> list[AuditEvent]:
        """Write every pending summary now (on shutdown, or periodically)."""
        with self._lock:
            pending = [(d, self._summaries(d, w)) for d, w in self._windows.items()]
            self._windows.clear()
        return [
            record(e, actor=f"device:{device}", details=d)
            for device, summaries in pending
            for e, d in summaries
        ]


channel_activity = ChannelActivity()


async def achannel_opened(device: str) -> None:
    """Async: a channel for ``device`` opened (aggregated)."""
    await sync_to_async(channel_activity.opened, thread_sensitive=True)(device)


async def achannel_closed(device: str, reason: str = "") -> None:
    """Async: a channel for ``device`` closed (aggregated)."""
    await sync_to_async(channel_activity.closed, thread_sensitive=True)(device, reason)


_auth_failures: dict[tuple[str, str], tuple[float, int]] = {}
_auth_lock = threading.Lock()


def auth_failed(reason: str, *, ip: str | None, actor: str = "") -> AuditEvent | None:
    """Record an authentication failure, at most once a minute per address and reason."""
    key = (ip or "", reason)
    now = time.monotonic()
    with _auth_lock:
        started, suppressed = _auth_failures.get(key, (0.0, 0))
        if started and now - started < 60:
            _auth_failures[key] = (started, suppressed + 1)
            return None
        _auth_failures[key] = (now, 0)
    details = {"reason": reason}
    if suppressed:
        details["suppressed_since_last"] = suppressed
    return record(AUTH_FAILED, outcome=FAILURE, actor=actor, ip=ip, details=details)


def reset_aggregation() -> None:
    """Forget pending aggregation state (for tests)."""
    global channel_activity
    channel_activity = ChannelActivity()
    with _auth_lock:
        _auth_failures.clear()
