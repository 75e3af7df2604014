"""Channel opens/closes are aggregated per device so a busy phone cannot flood the trail."""

from __future__ import annotations

import pytest

from audit import events
from audit.events import ChannelActivity
from audit.models import AuditEvent


@pytest.fixture(autouse=True)
def fresh(db):
    events.reset_aggregation()


def test_first_open_is_logged_then_the_rest_summarised():
    activity = ChannelActivity(window_seconds=3600)
    for _ in range(50):
        activity.opened("abcd")
        activity.closed("abcd", "normal")
    assert AuditEvent.objects.count() == 1
    activity.flush()
    opened = AuditEvent.objects.filter(event="channel.opened").order_by("seq")
    closed = AuditEvent.objects.get(event="channel.closed")
    assert [e.details["count"] for e in opened] == [1, 49]
    assert closed.details["count"] == 50
    assert closed.details["reasons"] == {"normal": 50}


def test_a_new_window_writes_the_previous_summary():
    activity = ChannelActivity(window_seconds=0)
    activity.opened("abcd")
    activity.opened("abcd")
    assert AuditEvent.objects.filter(event="channel.opened").count() == 2


def test_devices_are_counted_separately():
    activity = ChannelActivity(window_seconds=3600)
    activity.opened("one")
    activity.opened("two")
    assert {e.details["device"] for e in AuditEvent.objects.all()} == {"one", "two"}


def test_auth_failures_are_throttled_per_address():
    events.auth_failed("bad token", ip="10.0.0.1")
    events.auth_failed("bad token", ip="10.0.0.1")
    events.auth_failed("bad token", ip="10.0.0.2")
    assert AuditEvent.objects.filter(event="auth.failed").count() == 2
