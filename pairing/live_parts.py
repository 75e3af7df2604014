"""The pairing app's parts of Settings → Relay (instance.live): devices and open pairings."""

from __future__ import annotations

from pairing import devices, sessions
from pairing.models import Device
from relayproto import b64


def _time(moment) -> str | None:
    return moment.isoformat() if moment else None


def devices_part() -> list[dict]:
    """Pending and active devices, pending first, with the code a pending phone shows."""
    online = devices.online_fingerprints()
    rows = Device.objects.exclude(status=Device.REVOKED).order_by("status", "-paired_at")[:200]
    return [
        {
            "id": device.pk,
            "name": device.name,
            "platform": device.platform,
            "status": device.status,
            "fingerprint": device.fingerprint,
            # The owner compares it with the phone's screen before approving; it is shown for
            # pending devices only (it proves nothing once the device is active).
            "code": device.sas if device.status == Device.PENDING else "",
            "paired_at": _time(device.paired_at),
            "last_seen_at": _time(device.last_seen_at),
            "online": device.status == Device.ACTIVE and device.fingerprint in online,
        }
        for device in rows
    ]


def pairings_part() -> list[dict]:
    """Open pairing sessions (their QR codes still work)."""
    return [
        {
            "id": b64.encode(bytes.fromhex(session.pairing_id)),
            "short": session.pairing_id[:8],
            "created_at": _time(session.created_at),
            "expires_at": _time(session.expires_at),
            "attempts": session.attempts,
            "max_attempts": session.max_attempts,
        }
        for session in sessions.open_sessions()
    ]
