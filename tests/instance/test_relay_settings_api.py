"""GET/PUT /api/settings/relay: effective values, validation, runtime effect, overrides."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditEvent


def put(client, body):
    return client.put("/api/settings/relay", json.dumps(body), content_type="application/json")


@pytest.fixture
def writer(token_client):
    return token_client("settings:read", "settings:write")


def test_fresh_instance_reports_defaults(writer, data_dir):
    body = writer.get("/api/settings/relay").json()
    assert body["enabled"] is False
    assert body["server_url"] == ""
    assert body["instance_id"] == ""
    assert body["identity_public_key"] == ""
    assert body["licence"] is None
    assert body["pairing_requires_approval"] is True
    assert body["overrides"] == []


def test_put_applies_at_once_and_first_enable_creates_identity(writer, licence_token):
    response = put(
        writer,
        {"enabled": True, "server_url": "wss://relay.example.org", "licence_token": licence_token},
    )
    assert response.status_code == 200, response.content
    body = writer.get("/api/settings/relay").json()
    assert body["enabled"] is True
    assert body["server_url"] == "wss://relay.example.org"
    assert body["instance_id"] == "home-1"
    assert len(body["identity_public_key"]) == 43  # 32 bytes, unpadded base64url
    assert body["identity_fingerprint"].count("-") == 4
    assert body["licence"]["name"] == "home"
    assert body["licence"]["features"] == ["relay"]
    assert body["licence"]["valid"] is True
    assert body["licence"]["expires_at"]


def test_identity_survives_later_changes(writer):
    put(writer, {"enabled": True})
    key = writer.get("/api/settings/relay").json()["identity_public_key"]
    put(writer, {"enabled": False})
    put(writer, {"enabled": True})
    assert writer.get("/api/settings/relay").json()["identity_public_key"] == key


def test_settings_change_is_audited_without_the_licence_token(writer, licence_token):
    put(writer, {"server_url": "ws://relay.local:8001", "licence_token": licence_token})
    event = AuditEvent.objects.get(event="settings.changed")
    assert event.actor.startswith("token:")
    assert event.details["changed"]["server_url"] == ["", "ws://relay.local:8001"]
    assert licence_token not in json.dumps(event.details)
    assert licence_token.split(".")[2] not in json.dumps(event.details)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"server_url": "https://relay.example.org"}, "server_url"),
        ({"server_url": "ws://"}, "server_url"),
        ({"server_url": "ws://host:99999"}, "server_url"),
        ({"server_url": "wss://user:pw@host"}, "server_url"),
        ({"enabled": "yes"}, "enabled"),
        ({"enabled": 1}, "enabled"),
        ({"pairing_requires_approval": "false"}, "pairing_requires_approval"),
        ({"licence_token": "not-a-licence"}, "licence_token"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_values_are_400_naming_the_field(writer, data_dir, body, field):
    response = put(writer, body)
    assert response.status_code == 400
    assert field in response.json()


def test_non_object_body_is_400(writer, data_dir):
    response = writer.put("/api/settings/relay", "[1, 2]", content_type="application/json")
    assert response.status_code == 400


def test_expired_licence_is_reported_invalid(writer, operator_key):
    from relayproto.licence import issue

    old = issue(operator_key, name="old", days=1, instance_id="home-1", now=1_000_000)
    body = put(writer, {"licence_token": old}).json()
    assert body["licence"]["valid"] is False
    assert "expired" in body["licence"]["problem"]


def test_environment_overrides_are_applied_and_reported(writer, settings):
    put(writer, {"enabled": False, "server_url": "wss://stored.example"})
    settings.PULSE_RELAY_ENABLED_SET = True
    settings.PULSE_RELAY_ENABLED = True
    settings.PULSE_RELAY_SERVER = "wss://from-env.example"
    body = writer.get("/api/settings/relay").json()
    assert body["enabled"] is True
    assert body["server_url"] == "wss://from-env.example"
    assert {o["variable"] for o in body["overrides"]} == {
        "PULSE_RELAY_ENABLED",
        "PULSE_RELAY_SERVER",
    }
    assert body["stored"] == {
        "enabled": False,
        "server_url": "wss://stored.example",
        "pairing_requires_approval": None,
    }


def test_approval_override_from_environment(writer, settings):
    put(writer, {"pairing_requires_approval": True})
    settings.PULSE_PAIRING_REQUIRES_APPROVAL_SET = True
    settings.PULSE_PAIRING_REQUIRES_APPROVAL = False
    body = writer.get("/api/settings/relay").json()
    assert body["pairing_requires_approval"] is False
    assert body["overrides"] == [
        {"field": "pairing_requires_approval", "variable": "PULSE_PAIRING_REQUIRES_APPROVAL"}
    ]


def test_env_enable_creates_identity_on_first_use(settings, data_dir, db):
    from instance import relay_settings

    settings.PULSE_RELAY_ENABLED_SET = True
    settings.PULSE_RELAY_ENABLED = True
    assert relay_settings.update().identity_public_key


def test_corrupt_relay_enc_answers_503_with_the_reason(writer, data_dir):
    put(writer, {"enabled": True})
    (data_dir / "relay.enc").write_bytes(b"garbage")
    for response in (writer.get("/api/settings/relay"), put(writer, {"enabled": False})):
        assert response.status_code == 503
        assert "relay.enc" in response.json()["detail"]
    assert (data_dir / "relay.enc").read_bytes() == b"garbage"


def test_corrupt_relay_enc_stops_start_up_with_pulse_e010(writer, data_dir):
    from django.core.checks import run_checks

    put(writer, {"enabled": True})
    assert "pulse.E010" not in {m.id for m in run_checks()}
    (data_dir / "relay.enc").write_bytes(b"garbage")
    assert "pulse.E010" in {m.id for m in run_checks()}


def test_insecure_key_file_is_pulse_e011(writer, data_dir):
    from django.core.checks import run_checks

    put(writer, {"enabled": True})
    (data_dir / "relay.key").chmod(0o640)
    assert "pulse.E011" in {m.id for m in run_checks()}


def test_check_command_fails_on_corrupt_relay_enc(data_dir):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    (data_dir / "relay.enc").write_bytes(b"garbage")
    with pytest.raises(SystemCheckError, match=r"pulse\.E010"):
        call_command("check")
