"""Pairing sessions: the secret as psk, expiry, single use, attempt limit, audit events."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from pairing import sessions
from pairing.models import PairingSession
from relayproto import handshake


@pytest.fixture
def invite(relay_ready):
    return sessions.create_pairing_session(actor="test")[1]


def device_key() -> bytes:
    return handshake.public_key(handshake.generate_static_key())


def test_attempt_returns_the_pairing_secret(invite):
    assert sessions.psk_for_pairing_attempt(invite.pairing_id) == invite.pairing_secret


def test_secret_is_sealed_at_rest(invite):
    session = PairingSession.objects.get(pairing_id=invite.pairing_id.hex())
    assert invite.pairing_secret not in bytes(session.secret_sealed)


def test_session_expires_after_the_ttl(invite, settings):
    with (
        time_machine.travel(
            timezone.now() + timedelta(seconds=settings.PULSE_PAIRING_TTL_SECONDS + 1)
        ),
        pytest.raises(sessions.PairingExpired),
    ):
        sessions.psk_for_pairing_attempt(invite.pairing_id)
    assert AuditEvent.objects.filter(event="pairing.expired").count() == 1


def test_session_works_until_just_before_expiry(invite, settings):
    with time_machine.travel(
        timezone.now() + timedelta(seconds=settings.PULSE_PAIRING_TTL_SECONDS - 2)
    ):
        assert sessions.psk_for_pairing_attempt(invite.pairing_id) == invite.pairing_secret


def test_ttl_is_configurable(relay_ready, settings):
    settings.PULSE_PAIRING_TTL_SECONDS = 60
    _, invite = sessions.create_pairing_session()
    later = timezone.now() + timedelta(seconds=61)
    with time_machine.travel(later), pytest.raises(sessions.PairingExpired):
        sessions.psk_for_pairing_attempt(invite.pairing_id)


def test_unused_expired_sessions_are_audited_once(invite, settings):
    later = timezone.now() + timedelta(seconds=settings.PULSE_PAIRING_TTL_SECONDS + 1)
    assert sessions.expire_sessions(later) == 1
    assert sessions.expire_sessions(later) == 0
    assert AuditEvent.objects.filter(event="pairing.expired").count() == 1


def test_session_is_single_use(invite):
    sessions.psk_for_pairing_attempt(invite.pairing_id)
    sessions.complete_pairing(invite.pairing_id, device_key(), "Phone", "ios", "000111")
    with pytest.raises(sessions.PairingUsed):
        sessions.psk_for_pairing_attempt(invite.pairing_id)
    with pytest.raises(sessions.PairingUsed):
        sessions.complete_pairing(invite.pairing_id, device_key(), "Other", "ios", "000111")


def test_attempts_are_limited(invite, settings):
    for _ in range(settings.PULSE_PAIRING_MAX_ATTEMPTS):
        sessions.psk_for_pairing_attempt(invite.pairing_id)
    for _ in range(3):
        with pytest.raises(sessions.TooManyAttempts):
            sessions.psk_for_pairing_attempt(invite.pairing_id)
    # Logged once, not once per refused try.
    failed = AuditEvent.objects.filter(event="pairing.failed")
    assert [e.details["reason"] for e in failed] == ["too_many_attempts"]


def test_unknown_pairing_id_is_refused(relay_ready):
    with pytest.raises(sessions.UnknownPairing):
        sessions.psk_for_pairing_attempt(os.urandom(16))


def test_creation_is_audited_without_the_secret(invite):
    event = AuditEvent.objects.get(event="pairing.created")
    assert invite.pairing_secret.hex() not in str(event.details)
    assert event.details["pairing"] == invite.pairing_id.hex()[:8]


def test_no_session_while_pairing_is_impossible(db, data_dir):
    with pytest.raises(sessions.PairingNotPossible) as caught:
        sessions.create_pairing_session()
    codes = {d.code for d in caught.value.diagnostics}
    assert codes == {"relay_disabled", "no_server_url", "no_licence"}
    assert not PairingSession.objects.exists()
