"""Relay-side events for the audit trail: registrations, admission failures, drains."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("relay.audit")

# Audit writes run beside the socket that caused them, so a slow database never holds up
# frames; the set keeps the tasks referenced until they finish.
_pending: set[asyncio.Task] = set()


async def _write(event: str, outcome: str, ip: str | None, details: dict) -> None:
    try:
        from audit.events import arecord
    except ImportError:  # the audit app is optional for a bare relay worker
        return
    try:
        await arecord(event, outcome=outcome, actor="relay", ip=ip, details=details)
    except Exception:  # the audit trail must never take the relay down
        log.exception("could not write audit event %s", event)


async def _record(event: str, outcome: str, ip: str | None, details: dict) -> None:
    log.info("%s %s ip=%s %s", event, outcome, ip, details)
    task = asyncio.get_running_loop().create_task(_write(event, outcome, ip, details))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def flush() -> None:
    """Wait for audit writes still in flight (used on drain and by tests)."""
    while _pending:
        await asyncio.gather(*list(_pending), return_exceptions=True)


async def registered(instance_id: str, name: str, ip: str | None, resumed: bool) -> None:
    """An instance passed admission."""
    await _record(
        "relay.instance_registered",
        "success",
        ip,
        {"instance_id": instance_id, "name": name, "resumed": resumed},
    )


async def registration_failed(code: str, ip: str | None, reason: str) -> None:
    """An instance was refused (licence invalid, expired, revoked, rate limited...)."""
    await _record("relay.registration_failed", "failure", ip, {"code": code, "reason": reason})


async def disconnected(instance_id: str, ip: str | None, code: str) -> None:
    """A registered instance's socket closed."""
    await _record(
        "relay.instance_disconnected", "success", ip, {"instance_id": instance_id, "code": code}
    )


async def drained(worker_id: str, sockets: int) -> None:
    """A worker began draining on shutdown."""
    await _record(
        "relay.worker_draining", "success", None, {"worker": worker_id, "sockets": sockets}
    )
