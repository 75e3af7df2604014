"""The connector's status file: publish/read across processes, staleness, API and command."""

from __future__ import annotations

import json
import time
from io import StringIO

import pytest
from django.core.management import call_command

from instance import status
from instance.status import ConnectorStatus


def test_missing_status_means_not_running(data_dir):
    current = status.read()
    assert current.running is False
    assert current.state == "disabled"


def test_published_status_reads_back_as_running(data_dir):
    status.publish(ConnectorStatus(state="connected", instance_id="home-1", registered=True))
    current = status.read()
    assert current.running is True
    assert current.state == "connected"
    assert current.registered is True
    assert current.pid > 0


def test_stale_status_is_not_running(data_dir, settings):
    settings.PULSE_CONNECTOR_STATUS_STALE_SECONDS = 90
    status.publish(ConnectorStatus(state="connected", registered=True))
    assert status.read(now=time.time() + 91).running is False


def test_unknown_state_is_refused(data_dir):
    with pytest.raises(ValueError, match="state"):
        status.publish(ConnectorStatus(state="sleeping"))  # type: ignore[arg-type]


def test_garbage_file_reads_as_not_running(data_dir):
    (data_dir / status.FILE_NAME).write_text("{not json")
    assert status.read().running is False


def test_status_endpoint_reports_the_published_status(token_client):
    status.publish(ConnectorStatus(state="backoff", last_error="refused", next_retry_at=5.0))
    body = token_client("settings:read").get("/api/settings/relay/status").json()
    assert body["state"] == "backoff"
    assert body["last_error"] == "refused"
    assert body["running"] is True


def test_relay_status_command_prints_the_same(data_dir, db):
    status.publish(ConnectorStatus(state="connected", registered=True, open_channels=3))
    out = StringIO()
    call_command("relay_status", stdout=out)
    text = out.getvalue()
    assert "state connected" in text
    assert "registered:      yes" in text
    assert "open channels:   3" in text
    out = StringIO()
    call_command("relay_status", "--json", stdout=out)
    assert json.loads(out.getvalue())["open_channels"] == 3
