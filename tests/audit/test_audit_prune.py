"""prune_audit removes old events and the chain still verifies; the anchor is vouched for."""

from __future__ import annotations

from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from audit import chain, events
from audit.models import AuditChainHead, AuditEvent


@pytest.fixture
def aged_trail(db):
    with time_machine.travel("2030-01-01T00:00:00Z", tick=False):
        for n in range(3):
            events.record("old.event", details={"n": n})
    with time_machine.travel("2030-06-01T00:00:00Z", tick=False):
        for n in range(2):
            events.record("new.event", details={"n": n})


def test_prune_keeps_recent_events_and_the_chain_verifiable(aged_trail):
    with time_machine.travel("2030-06-02T00:00:00Z", tick=False):
        out = StringIO()
        call_command("prune_audit", "--older-than", "90d", stdout=out)
    assert "Removed 3" in out.getvalue()
    assert not AuditEvent.objects.filter(event="old.event").exists()
    assert AuditEvent.objects.filter(event="new.event").count() == 2
    assert AuditEvent.objects.filter(event="audit.pruned").count() == 1
    assert chain.verify().ok


def test_prune_twice_and_append_after(aged_trail):
    with time_machine.travel("2030-06-02T00:00:00Z", tick=False):
        call_command("prune_audit", "--older-than", "90d", stdout=StringIO())
    with time_machine.travel("2031-01-01T00:00:00Z", tick=False):
        call_command("prune_audit", "--older-than", "30d", stdout=StringIO())
        events.record("later.event")
    assert chain.verify().ok


def test_nothing_to_prune_changes_nothing(aged_trail):
    with time_machine.travel("2030-01-02T00:00:00Z", tick=False):
        call_command("prune_audit", "--older-than", "90d", stdout=StringIO())
    assert AuditEvent.objects.count() == 5
    assert chain.verify().ok


def test_moved_anchor_is_detected(aged_trail):
    with time_machine.travel("2030-06-02T00:00:00Z", tick=False):
        call_command("prune_audit", "--older-than", "90d", stdout=StringIO())
    # Pretend fewer events were pruned than the audit.pruned event vouches for.
    head = AuditChainHead.objects.get(pk=1)
    AuditChainHead.objects.filter(pk=1).update(pruned_through_seq=head.pruned_through_seq - 1)
    assert not chain.verify().ok


@pytest.mark.parametrize("age", ["90", "-5d", "0d", "ninety days"])
def test_bad_age_is_refused(db, age):
    with pytest.raises(CommandError, match="older-than"):
        call_command("prune_audit", "--older-than", age)
