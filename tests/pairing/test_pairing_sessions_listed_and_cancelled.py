"""Open pairing sessions are listed and can be cancelled; a cancelled QR code stops working."""

import pytest

from audit.models import AuditEvent
from pairing import sessions
from relayproto import b64


@pytest.fixture
def open_session(relay_ready):
    _session, invite = sessions.create_pairing_session(actor="test")
    return b64.encode(invite.pairing_id), invite


def test_open_sessions_are_listed_without_their_secret(token_client, open_session):
    pairing_id, invite = open_session
    listed = token_client("settings:read").get("/api/onboarding/sessions").json()
    assert [row["id"] for row in listed] == [pairing_id]
    assert listed[0]["attempts"] == 0
    assert b64.encode(invite.pairing_secret) not in str(listed)


def test_a_cancelled_session_refuses_the_phone_and_is_audited(token_client, open_session):
    pairing_id, invite = open_session
    client = token_client("settings:read")
    assert client.delete(f"/api/onboarding/sessions/{pairing_id}").status_code == 204
    assert client.get("/api/onboarding/sessions").json() == []
    with pytest.raises(sessions.PairingExpired):
        sessions.psk_for_pairing_attempt(invite.pairing_id)
    (event,) = AuditEvent.objects.filter(event="pairing.cancelled")
    assert event.details["pairing"] == invite.pairing_id.hex()[:8]


def test_cancelling_twice_or_nonsense_is_404(token_client, open_session):
    pairing_id, _ = open_session
    client = token_client("settings:read")
    assert client.delete(f"/api/onboarding/sessions/{pairing_id}").status_code == 204
    assert client.delete(f"/api/onboarding/sessions/{pairing_id}").status_code == 404
    assert client.delete("/api/onboarding/sessions/not*base64").status_code == 404
    assert client.delete(f"/api/onboarding/sessions/{'A' * 22}").status_code == 404
