"""Devices: completion, approval with the code, psk lookup, touch, rename, revoke (signal)."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditEvent
from pairing import devices, sessions
from pairing.models import Device, DeviceError
from pairing.signals import device_revoked
from relayproto import handshake


def test_completed_device_waits_for_approval_by_default(pending_device):
    assert pending_device.status == Device.PENDING
    assert devices.psk_for_device(pending_device.public_key_bytes) is None


def test_without_approval_the_device_is_active_at_once(relay_ready, settings):
    settings.PULSE_PAIRING_REQUIRES_APPROVAL = False
    _, invite = sessions.create_pairing_session()
    public = handshake.public_key(handshake.generate_static_key())
    device, psk = sessions.complete_pairing(invite.pairing_id, public, "P", "ios", "123456")
    assert device.status == Device.ACTIVE
    assert devices.psk_for_device(public) == psk


def test_approved_device_gets_its_psk(paired_device):
    device, private, psk = paired_device
    assert device.status == Device.ACTIVE
    assert len(psk) == 32
    assert devices.psk_for_device(handshake.public_key(private)) == psk
    assert psk not in bytes(Device.objects.get(pk=device.pk).psk_sealed)


def test_unknown_key_has_no_psk(relay_ready):
    assert devices.psk_for_device(b"\x01" * 32) is None
    assert devices.psk_for_device(b"short") is None


def test_wrong_code_is_refused_and_five_revoke(pending_device, settings):
    for _ in range(settings.PULSE_PAIRING_MAX_ATTEMPTS - 1):
        with pytest.raises(DeviceError, match="does not match"):
            pending_device.approve("999999")
    with pytest.raises(DeviceError, match="revoked"):
        pending_device.approve("999999")
    pending_device.refresh_from_db()
    assert pending_device.status == Device.REVOKED


def test_approve_via_api(token_client, pending_device):
    client = token_client("devices:write")
    url = f"/api/devices/{pending_device.pk}/approve"
    wrong = client.post(url, json.dumps({"code": "000000"}), content_type="application/json")
    assert wrong.status_code == 400
    assert "code" in wrong.json()
    right = client.post(url, json.dumps({"code": "123 456"}), content_type="application/json")
    assert right.status_code == 200
    assert right.json()["status"] == "active"
    assert AuditEvent.objects.filter(event="device.approved").count() == 1


def test_device_list_shows_pending_and_active_with_fingerprints(
    token_client, paired_device, pending_device
):
    from instance import status

    device, private, _ = paired_device
    fingerprint = handshake.key_fingerprint(handshake.public_key(private))
    status.publish(
        status.ConnectorStatus(state="connected", registered=True, online_devices=[fingerprint])
    )
    rows = token_client("settings:read").get("/api/devices").json()
    by_id = {row["id"]: row for row in rows}
    assert by_id[device.pk]["fingerprint"] == fingerprint
    assert by_id[device.pk]["online"] is True
    assert by_id[pending_device.pk]["status"] == "pending"
    assert by_id[pending_device.pk]["online"] is False
    assert {"name", "platform", "paired_at", "last_seen_at"} <= set(by_id[device.pk])


def test_revoked_devices_are_hidden_unless_asked(token_client, revoked_device):
    client = token_client("settings:read")
    assert client.get("/api/devices").json() == []
    assert client.get("/api/devices?include_revoked=true").json()[0]["status"] == "revoked"


def test_rename(token_client, paired_device):
    device = paired_device[0]
    response = token_client("devices:write").patch(
        f"/api/devices/{device.pk}",
        json.dumps({"name": "  Work   phone "}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Work phone"
    assert AuditEvent.objects.get(event="device.renamed").details["new"] == "Work phone"


def test_rename_rejects_unknown_fields(token_client, paired_device):
    response = token_client("devices:write").patch(
        f"/api/devices/{paired_device[0].pk}",
        json.dumps({"name": "x", "status": "active"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "status" in response.json()


def test_revoke_sends_the_signal_and_drops_the_psk(
    token_client, paired_device, django_capture_on_commit_callbacks
):
    device, private, _ = paired_device
    received = []

    def listener(sender, device, public_key, fingerprint, **kwargs):
        received.append((device.pk, public_key, fingerprint))

    device_revoked.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = token_client("devices:write").delete(f"/api/devices/{device.pk}")
    finally:
        device_revoked.disconnect(listener)
    assert response.status_code == 204
    public = handshake.public_key(private)
    assert received == [(device.pk, public, handshake.key_fingerprint(public))]
    assert devices.psk_for_device(public) is None
    assert AuditEvent.objects.filter(event="device.revoked").count() == 1


def test_touch_device_writes_at_most_every_30_seconds(paired_device):
    from datetime import timedelta

    from django.utils import timezone

    _, private, _ = paired_device
    public = handshake.public_key(private)
    now = timezone.now() + timedelta(minutes=5)
    assert devices.touch_device(public, when=now) is True
    assert devices.touch_device(public, when=now + timedelta(seconds=5)) is False
    assert devices.touch_device(public, when=now + timedelta(seconds=31)) is True


def test_revoked_key_can_pair_again(revoked_device, settings):
    settings.PULSE_PAIRING_REQUIRES_APPROVAL = False
    _, invite = sessions.create_pairing_session()
    device, psk = sessions.complete_pairing(
        invite.pairing_id, revoked_device.public_key_bytes, "Found phone", "android", "111222"
    )
    assert device.pk == revoked_device.pk
    assert device.status == Device.ACTIVE
    assert devices.psk_for_device(revoked_device.public_key_bytes) == psk


def test_active_key_cannot_pair_twice(paired_device):
    device = paired_device[0]
    _, invite = sessions.create_pairing_session()
    with pytest.raises(sessions.PairingError, match="paired already"):
        sessions.complete_pairing(invite.pairing_id, device.public_key_bytes, "x", "", "111222")


def test_rotating_the_identity_revokes_every_device(paired_device, pending_device, data_dir):
    from io import StringIO

    from django.core.management import call_command

    from instance import relay_settings

    before = relay_settings.current().identity_fingerprint
    out = StringIO()
    call_command("relay_rotate_identity", "--yes", stdout=out)
    after = relay_settings.current().identity_fingerprint
    assert after != before
    assert after in out.getvalue()
    assert not Device.objects.exclude(status=Device.REVOKED).exists()
    event = AuditEvent.objects.get(event="identity.rotated")
    assert event.details["devices_revoked"] == 2


def test_responder_can_store_the_psk_it_sent_in_message_2(relay_ready):
    _, invite = sessions.create_pairing_session()
    sent = handshake.generate_psk()
    public = handshake.public_key(handshake.generate_static_key())
    device, psk = sessions.complete_pairing(
        invite.pairing_id, public, "P", "ios", "123456", device_psk=sent
    )
    assert psk == sent
    device.approve("123456")
    assert devices.psk_for_device(public) == sent
