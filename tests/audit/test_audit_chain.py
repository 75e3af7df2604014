"""The audit hash chain verifies, and edits, deletions and truncation are detected."""

from __future__ import annotations

import itertools
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit import chain, events
from audit.models import AppendOnlyError, AuditEvent


@pytest.fixture
def trail(db):
    return [events.record("test.event", actor="t", details={"n": n}) for n in range(5)]


def test_events_chain_to_their_predecessor(trail):
    assert trail[0].prev_hash == "0" * 64
    for before, after in itertools.pairwise(trail):
        assert after.prev_hash == before.hash
        assert after.seq == before.seq + 1


def test_untouched_chain_verifies(trail):
    result = chain.verify()
    assert result.ok
    assert result.checked == 5


def test_hand_edited_row_is_detected(trail):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET outcome = %s WHERE seq = %s", ["failure", trail[2].seq]
        )
    result = chain.verify()
    assert not result.ok
    assert result.broken_at == trail[2].seq
    assert "edited" in result.reason


def test_edited_row_with_recomputed_hash_breaks_the_next_link(trail):
    row = AuditEvent.objects.get(seq=trail[2].seq)
    row.details = {"n": 99}
    forged = chain.hash_of(row)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET details = %s, hash = %s WHERE seq = %s",
            ['{"n": 99}', forged, trail[2].seq],
        )
    result = chain.verify()
    assert not result.ok
    assert result.broken_at == trail[3].seq


def test_deleted_row_is_detected(trail):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [trail[1].seq])
    result = chain.verify()
    assert not result.ok
    assert result.broken_at == trail[1].seq


def test_removed_tail_is_detected(trail):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [trail[-1].seq])
    assert not chain.verify().ok


def test_orm_refuses_to_change_or_delete_events(trail):
    row = AuditEvent.objects.get(seq=trail[0].seq)
    row.outcome = "failure"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(seq=1).update(outcome="failure")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_audit_verify_command_reports_ok(trail):
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "OK: 5 audit events verified" in out.getvalue()


def test_audit_verify_command_shows_where_it_breaks(trail):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET actor = 'mallory' WHERE seq = %s", [3])
    with pytest.raises(CommandError, match="BROKEN at event #3"):
        call_command("audit_verify")


def test_secrets_in_details_are_redacted(db):
    event = events.record(
        "test.secret",
        details={"token": "pulse_abc", "nested": {"psk": "x", "name": "ok"}, "token_id": 4},
    )
    assert event.details == {
        "token": "[redacted]",
        "nested": {"psk": "[redacted]", "name": "ok"},
        "token_id": 4,
    }
    assert chain.verify().ok


def test_ip_addresses_survive_the_round_trip(db):
    events.record("test.ip", ip="::FFFF:10.0.0.1")
    events.record("test.ip", ip="2001:DB8::1")
    events.record("test.ip", ip="not an ip")
    assert chain.verify().ok


async def test_arecord_appends_from_async_code(transactional_db):
    event = await events.arecord("test.async", outcome="failure", details={"a": 1})
    assert event.outcome == "failure"
