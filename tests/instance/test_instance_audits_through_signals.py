"""The instance leaves audit records by signal; the audit app's receivers write them."""

import pytest
from django.db import transaction

from audit.models import AuditEvent
from instance import auditing, signals


def test_a_recorded_event_lands_in_the_trail(db):
    auditing.record(
        auditing.SETTINGS_CHANGED, actor="user:owner", ip="192.0.2.1", details={"psk": "x"}
    )
    (event,) = AuditEvent.objects.filter(event="settings.changed")
    assert (event.actor, event.ip, event.outcome) == ("user:owner", "192.0.2.1", "success")
    assert event.details == {"psk": "[redacted]"}


def test_without_receivers_the_signal_is_a_no_op(db):
    assert signals.audit_event.disconnect(dispatch_uid="audit-instance-event")
    try:
        auditing.record(auditing.TOKEN_CREATED, actor="test")
    finally:
        from audit import receivers

        signals.audit_event.connect(receivers.instance_event, dispatch_uid="audit-instance-event")
    assert not AuditEvent.objects.filter(event="token.created").exists()


def test_a_failing_audit_write_fails_the_change_it_records(db):
    def broken(sender, **kwargs):
        raise RuntimeError("audit store away")

    signals.audit_event.connect(broken)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            auditing.record(auditing.TOKEN_REVOKED, actor="test")
    finally:
        signals.audit_event.disconnect(broken)
    assert not AuditEvent.objects.filter(event="token.revoked").exists()


async def test_channel_activity_is_aggregated_by_the_audit_app(transactional_db, data_dir):
    await auditing.achannel_opened("ab12")
    await auditing.achannel_opened("ab12")
    await auditing.achannel_closed("ab12", "NORMAL")
    rows = [e async for e in AuditEvent.objects.filter(event__startswith="channel.")]
    assert [(e.event, e.details.get("count")) for e in rows] == [("channel.opened", 1)]
