"""Rotating the instance's identity key, which every paired phone pinned.

It lives with pairing rather than with the rest of relay.enc because it is a pairing event:
the phones pinned the old key, so every device is revoked and every open pairing ends.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from django.db import transaction

from audit import events
from instance import relay_settings, relayenc
from pairing import sessions
from pairing.models import Device
from relayproto import handshake


def rotate_identity(*, actor: str = "", ip: str | None = None) -> str:
    """Replace the identity key; every device is revoked (it pinned the old key). Returns the
    new fingerprint."""
    old = relay_settings.identity_public_key()

    def change(stored: relayenc.RelayEnc) -> relayenc.RelayEnc:
        return replace(
            stored,
            identity_private=handshake.generate_static_key(),
            identity_created_at=datetime.now(UTC).isoformat(),
        )

    # Database changes first, the file last: if writing relay.enc fails, the revocations roll
    # back and nothing changed; the file write is the commit point.
    with transaction.atomic():
        revoked = Device.objects.revoke_all(actor=actor, ip=ip, reason="identity rotated")
        sessions.invalidate_open_sessions()
        stored = relayenc.update(change)
        new_public = handshake.public_key(stored.identity_private)
        fingerprint = handshake.key_fingerprint(new_public)
        events.record(
            events.IDENTITY_ROTATED,
            actor=actor,
            ip=ip,
            details={
                "old_fingerprint": handshake.key_fingerprint(old) if old else "",
                "new_fingerprint": fingerprint,
                "devices_revoked": revoked,
            },
        )
    return fingerprint
