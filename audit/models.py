"""The append-only, hash-chained audit trail."""

from __future__ import annotations

from django.db import models

GENESIS_HASH = "0" * 64


class AppendOnlyError(Exception):
    """Audit events are never changed or deleted (except by pruning, which re-anchors)."""


class AuditEventQuerySet(models.QuerySet):
    """Refuses bulk updates and deletes, which would break the chain silently."""

    def update(self, **kwargs):
        """Audit rows are immutable."""
        raise AppendOnlyError("audit events are append-only: they cannot be updated")

    def delete(self):
        """Only audit.chain.prune may remove events (it records an anchor)."""
        raise AppendOnlyError("audit events are append-only: use `manage.py prune_audit`")


class AuditEvent(models.Model):
    """One event: who did what, with what outcome, chained to the event before it."""

    seq = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=200, blank=True)
    event = models.CharField(max_length=100, db_index=True)
    outcome = models.CharField(max_length=20, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.event} {self.outcome}"

    def save(self, *args, **kwargs):
        """Insert only: an existing event is never rewritten."""
        if not self._state.adding:
            raise AppendOnlyError("audit events are append-only: they cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        """Single events are never deleted."""
        raise AppendOnlyError("audit events are append-only: use `manage.py prune_audit`")


class AuditChainHead(models.Model):
    """One row: the last event's seq and hash (locked while appending) and the prune anchor."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)
    pruned_through_seq = models.PositiveBigIntegerField(default=0)
    pruned_through_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"head #{self.seq}"
