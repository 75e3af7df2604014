"""The relay's events: one call writes the structured log record, counts the event in
``/metrics`` and sends the matching signal (relay.signals).

Log records carry the event's fields twice: as ``key=value`` text in the message for people
reading plain logs, and as ``record.event`` / ``record.fields`` for a JSON formatter. No
secrets reach them: the relay has none (no tokens, no keys), and licence tokens are named by
their id only.
"""

from __future__ import annotations

import logging

from django.dispatch import Signal

from relay import metrics, signals

log = logging.getLogger("relay.events")

INSTANCE_REGISTERED = "relay.instance_registered"
REGISTRATION_REFUSED = "relay.registration_refused"
INSTANCE_DISCONNECTED = "relay.instance_disconnected"
LIMIT_HIT = "relay.limit_hit"
WORKER_DRAINING = "relay.worker_draining"


def _text(value) -> str:
    text = str(value)
    return repr(text) if (not text or any(c.isspace() or c in "\"'=" for c in text)) else text


def _emit(signal: Signal, event: str, level: int, ip: str | None, **fields) -> None:
    metrics.EVENTS.labels(event).inc()
    if log.isEnabledFor(level):
        pairs = " ".join(f"{key}={_text(value)}" for key, value in {"ip": ip, **fields}.items())
        log.log(
            level, "%s %s", event, pairs, extra={"event": event, "fields": {"ip": ip, **fields}}
        )
    for receiver, result in signal.send_robust(sender=event, event=event, ip=ip, **fields):
        if isinstance(result, Exception):
            log.error("receiver %r of %s failed: %r", receiver, event, result)


def instance_registered(instance_id: str, name: str, ip: str | None, resumed: bool) -> None:
    """An instance passed admission."""
    _emit(
        signals.instance_registered,
        INSTANCE_REGISTERED,
        logging.INFO,
        ip,
        instance_id=instance_id,
        name=name,
        resumed=resumed,
    )


def registration_refused(code: str, ip: str | None, reason: str) -> None:
    """An instance was refused (licence invalid, expired, revoked, rate limited…)."""
    _emit(
        signals.registration_refused,
        REGISTRATION_REFUSED,
        logging.WARNING,
        ip,
        code=str(code),
        reason=reason,
    )


def instance_disconnected(instance_id: str, ip: str | None, code: str) -> None:
    """A registered instance's socket closed."""
    _emit(
        signals.instance_disconnected,
        INSTANCE_DISCONNECTED,
        logging.INFO,
        ip,
        instance_id=instance_id,
        code=code,
    )


def limit_hit(limit: str, code: str, ip: str | None, reason: str) -> None:
    """A limit turned a socket or channel away (``limit`` names which)."""
    metrics.LIMITS_HIT.labels(limit).inc()
    _emit(
        signals.limit_hit,
        LIMIT_HIT,
        logging.WARNING,
        ip,
        limit=limit,
        code=str(code),
        reason=reason,
    )


def worker_draining(worker_id: str, sockets: int) -> None:
    """The worker began draining on shutdown."""
    _emit(
        signals.worker_draining,
        WORKER_DRAINING,
        logging.INFO,
        None,
        worker=worker_id,
        sockets=sockets,
    )
