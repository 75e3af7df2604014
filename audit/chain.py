"""The audit hash chain: append under a lock, verify, and prune while staying verifiable.

Each event's hash is SHA-256 over a canonical JSON of its fields and the previous event's
hash. Appending locks the one-row chain head (``select_for_update`` on PostgreSQL; SQLite runs
with ``transaction_mode=IMMEDIATE``, so the write transaction itself is the lock), so several
processes can append concurrently. Pruning deletes old events and records, in the head row and
in an ``audit.pruned`` event, the seq and hash of the last event removed, which is where
verification then starts.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from audit.models import GENESIS_HASH, AuditChainHead, AuditEvent, AuditEventQuerySet

PRUNED_EVENT = "audit.pruned"


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def compute_hash(
    *,
    seq: int,
    created_at: datetime,
    actor: str,
    event: str,
    outcome: str,
    ip: str | None,
    details: dict,
    prev_hash: str,
) -> str:
    """The hash of one event given its fields and its predecessor's hash."""
    canonical = json.dumps(
        {
            "seq": seq,
            "time": _timestamp(created_at),
            "actor": actor,
            "event": event,
            "outcome": outcome,
            "ip": ip,
            "details": details,
            "prev": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def hash_of(row: AuditEvent) -> str:
    """Recompute a stored event's hash from its stored fields."""
    return compute_hash(
        seq=row.seq,
        created_at=row.created_at,
        actor=row.actor,
        event=row.event,
        outcome=row.outcome,
        ip=row.ip,
        details=row.details,
        prev_hash=row.prev_hash,
    )


def _normalise_ip(ip: str | None) -> str | None:
    # Store the form the database returns, so the hash survives the round trip.
    if not ip:
        return None
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return None
    # Django's own normalisation is what GenericIPAddressField stores.
    return clean_ipv6_address(ip) if ":" in ip else ip


def _locked_head() -> AuditChainHead:
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
    return head


def append(event: str, *, outcome: str, actor: str, ip: str | None, details: dict) -> AuditEvent:
    """Add one event at the end of the chain (atomically with moving the head)."""
    # Round-trip details through JSON now so the hash covers exactly what the DB returns.
    details = json.loads(json.dumps(details, sort_keys=True))
    ip = _normalise_ip(ip)
    with transaction.atomic():
        head = _locked_head()
        row = AuditEvent(
            seq=head.seq + 1,
            created_at=timezone.now(),
            actor=actor[:200],
            event=event[:100],
            outcome=outcome[:20],
            ip=ip,
            details=details,
            prev_hash=head.hash,
        )
        row.hash = hash_of(row)
        row.save()
        AuditChainHead.objects.filter(pk=1).update(seq=row.seq, hash=row.hash)
        return row


@dataclass(frozen=True)
class Verification:
    """The outcome of checking the chain; ``broken_at`` is the seq of the first bad event."""

    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str = ""


def verify(batch: int = 2000) -> Verification:
    """Walk the whole chain in seq order and report the first place it breaks."""
    head = AuditChainHead.objects.filter(pk=1).first() or AuditChainHead()
    expected_seq = head.pruned_through_seq + 1
    expected_prev = head.pruned_through_hash
    checked = 0
    last_pruned_anchor: tuple[int, str] | None = None
    query = AuditEvent.objects.order_by("seq")
    last_seq = 0
    while True:
        rows = list(query.filter(seq__gt=last_seq)[:batch])
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                return Verification(
                    False, checked, expected_seq, f"event #{expected_seq} is missing"
                )
            if row.prev_hash != expected_prev:
                return Verification(
                    False, checked, row.seq, "its previous-hash does not match the event before"
                )
            if hash_of(row) != row.hash:
                return Verification(
                    False, checked, row.seq, "its contents do not match its hash (edited)"
                )
            if row.event == PRUNED_EVENT:
                last_pruned_anchor = (
                    int(row.details.get("through_seq", 0)),
                    str(row.details.get("through_hash", "")),
                )
            checked += 1
            expected_seq = row.seq + 1
            expected_prev = row.hash
            last_seq = row.seq
    if head.seq != expected_seq - 1 or head.hash != expected_prev:
        return Verification(
            False, checked, expected_seq, "events after the last one were removed (head moved)"
        )
    if head.pruned_through_seq and last_pruned_anchor != (
        head.pruned_through_seq,
        head.pruned_through_hash,
    ):
        return Verification(
            False,
            checked,
            head.pruned_through_seq + 1,
            "the prune anchor does not match the last audit.pruned event",
        )
    return Verification(True, checked)


def prune(before: datetime, *, actor: str = "system") -> int:
    """Delete events older than ``before`` and re-anchor the chain; returns how many went."""
    with transaction.atomic():
        _locked_head()
        last = AuditEvent.objects.filter(created_at__lt=before).order_by("-seq").first()
        if last is None:
            return 0
        removed_qs = AuditEvent.objects.filter(seq__lte=last.seq)
        count = removed_qs.count()
        # The only sanctioned bulk delete: it goes around the append-only queryset guard.
        models_delete = super(AuditEventQuerySet, removed_qs).delete
        models_delete()
        AuditChainHead.objects.filter(pk=1).update(
            pruned_through_seq=last.seq, pruned_through_hash=last.hash
        )
        # In the same transaction: the anchor and the event that vouches for it land together.
        append(
            PRUNED_EVENT,
            outcome="success",
            actor=actor,
            ip=None,
            details={
                "removed": count,
                "before": _timestamp(before),
                "through_seq": last.seq,
                "through_hash": last.hash,
            },
        )
    return count


__all__ = ["GENESIS_HASH", "Verification", "append", "compute_hash", "prune", "verify"]
