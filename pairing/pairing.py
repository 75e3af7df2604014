"""Pairing sessions and devices: what the API and the E2E responder call.

A pairing session is a single-use invitation (a QR code / deep link) holding a random
pairing id and a 32-byte pairing secret, the Noise psk for the pairing handshake; the secret
is sealed at rest because the instance needs it back. When a phone completes the pairing
handshake the instance stores the phone's static key and a fresh per-device psk (sealed),
pending the owner's approval with the 6-digit code when ``pairing_requires_approval``.
"""

from __future__ import annotations

import hmac
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import events
from pairing.models import Device, PairingSession
from pairing.signals import device_revoked
from relay import instance_settings, secretbox
from relay import status as connector_status
from relayproto import handshake
from relayproto.deeplink import PairingInvite
from relayproto.routing import routing_hash, routing_token

PAIRING_SECRET_PURPOSE = b"pulse pairing secret v1"
DEVICE_PSK_PURPOSE = b"pulse device psk v1"
# The handshake has already proved knowledge of the secret: allow it to finish just after expiry.
COMPLETION_GRACE = timedelta(seconds=30)
_TOUCH_RESOLUTION = timedelta(seconds=30)


class PairingError(Exception):
    """A pairing attempt that must get no answer; ``code`` names why."""

    code = "pairing_failed"


class UnknownPairing(PairingError):
    """No pairing session has this id."""

    code = "unknown"


class PairingExpired(PairingError):
    """The pairing session's time ran out."""

    code = "expired"


class PairingUsed(PairingError):
    """The pairing session already paired a device (single use)."""

    code = "used"


class TooManyAttempts(PairingError):
    """The pairing session allowed no more handshake attempts."""

    code = "too_many_attempts"


class DeviceError(ValueError):
    """An owner action on a device that cannot be done; ``field`` names the bad input."""

    def __init__(self, message: str, field: str | None = None) -> None:
        """Remember the field the message is about."""
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Diagnostic:
    """One reason why pairing is not possible yet, and which setting to fix."""

    code: str
    message: str
    field: str | None = None

    def as_dict(self) -> dict:
        """Plain data for the 409 answer."""
        return asdict(self)


class PairingNotPossible(Exception):
    """Pairing cannot start yet; ``diagnostics`` say what to fix."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        """Keep the diagnostics."""
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics


def fingerprint(public_key: bytes) -> str:
    """The fingerprint shown for a device or instance key."""
    return handshake.key_fingerprint(public_key)


# --- diagnostics and session creation ---------------------------------------------------------


def pairing_diagnostics() -> list[Diagnostic]:
    """Everything that stops a phone from pairing right now (empty when it can)."""
    current = instance_settings.current()
    found: list[Diagnostic] = []
    if not current.enabled:
        found.append(
            Diagnostic(
                "relay_disabled",
                "The relay connection is disabled: enable it (PUT /api/settings/relay "
                '{"enabled": true}) or set PULSE_RELAY_ENABLED=true.',
                "enabled",
            )
        )
    if not current.server_url:
        found.append(
            Diagnostic(
                "no_server_url",
                "No relay URL is set: set server_url (wss://relay.example.org) or "
                "PULSE_RELAY_SERVER.",
                "server_url",
            )
        )
    licence = current.licence
    if licence is None:
        found.append(
            Diagnostic(
                "no_licence",
                "No licence is stored: paste the licence token from your relay operator.",
                "licence_token",
            )
        )
    elif not licence["valid"]:
        found.append(Diagnostic("licence_invalid", licence["problem"], "licence_token"))
    if not found:
        status = connector_status.read()
        if not status.running:
            found.append(
                Diagnostic(
                    "connector_not_running",
                    "The relay connector is not running (no status in the last "
                    f"{connector_status.stale_after()} s): start Relay with the instance role.",
                )
            )
        elif not status.registered or (
            status.instance_id and status.instance_id != current.instance_id
        ):
            found.append(
                Diagnostic(
                    "not_registered",
                    "The instance is not registered with the relay yet"
                    + (f" ({status.last_error})" if status.last_error else "")
                    + ": check the relay URL and licence, then wait for it to connect.",
                )
            )
    return found


def create_pairing_session(
    *, actor: str = "", ip: str | None = None
) -> tuple[PairingSession, PairingInvite]:
    """Start a pairing session; raises PairingNotPossible with diagnostics when it cannot."""
    diagnostics = pairing_diagnostics()
    if diagnostics:
        raise PairingNotPossible(diagnostics)
    public = instance_settings.ensure_identity()
    current = instance_settings.current()
    expire_sessions()
    pairing_id = handshake.generate_pairing_id()
    secret = handshake.generate_psk()
    ttl = timedelta(seconds=settings.PULSE_PAIRING_TTL_SECONDS)
    with transaction.atomic():
        session = PairingSession.objects.create(
            pairing_id=pairing_id.hex(),
            secret_sealed=secretbox.seal(secret, purpose=PAIRING_SECRET_PURPOSE),
            expires_at=timezone.now() + ttl,
            max_attempts=settings.PULSE_PAIRING_MAX_ATTEMPTS,
            created_by=actor,
        )
        events.record(
            events.PAIRING_CREATED,
            actor=actor,
            ip=ip,
            details={
                "pairing": session.pairing_id[:8],
                "expires_at": session.expires_at.isoformat(),
            },
        )
    invite = PairingInvite(
        relay_url=instance_settings.relay_base_url(current.server_url),
        instance_id=current.instance_id,
        instance_public_key=public,
        pairing_id=pairing_id,
        pairing_secret=secret,
        expires_at=int(session.expires_at.timestamp()),
    )
    return session, invite


def expire_sessions(now: datetime | None = None) -> int:
    """Record ``pairing.expired`` once for each unused session whose time ran out."""
    now = now or timezone.now()
    count = 0
    stale = PairingSession.objects.filter(
        used_at__isnull=True, expiry_recorded=False, expires_at__lte=now
    )
    for session in stale[:500]:
        with transaction.atomic():
            if PairingSession.objects.filter(pk=session.pk, expiry_recorded=False).update(
                expiry_recorded=True
            ):
                events.record(
                    events.PAIRING_EXPIRED,
                    outcome=events.FAILURE,
                    actor="system",
                    details={"pairing": session.pairing_id[:8], "attempts": session.attempts},
                )
                count += 1
    return count


def invalidate_open_sessions() -> int:
    """End every unused session now (the identity they carry is gone)."""
    return PairingSession.objects.filter(
        used_at__isnull=True, expires_at__gt=timezone.now()
    ).update(expires_at=timezone.now())


# --- what the E2E responder calls --------------------------------------------------------------


def _fail(error: PairingError, pairing_hex: str, **details) -> PairingError:
    events.record(
        events.PAIRING_FAILED,
        outcome=events.FAILURE,
        actor="pairing",
        details={"pairing": pairing_hex[:8], "reason": error.code, **details},
    )
    return error


def psk_for_pairing_attempt(pairing_id: bytes) -> bytes:
    """Count one handshake attempt and return the pairing secret (the Noise psk), or raise
    UnknownPairing / PairingExpired / PairingUsed / TooManyAttempts."""
    pairing_hex = bytes(pairing_id).hex()
    error: PairingError | None = None
    # Errors are raised after the transaction so the counted attempt and the audit event stay.
    with transaction.atomic():
        session = PairingSession.objects.select_for_update().filter(pairing_id=pairing_hex).first()
        if session is None:
            error = UnknownPairing("no pairing session has this id")
        elif session.used_at is not None:
            error = _fail(PairingUsed("this pairing session was used already"), pairing_hex)
        elif timezone.now() >= session.expires_at:
            error = PairingExpired("this pairing session has expired")
            if not session.expiry_recorded:
                session.expiry_recorded = True
                session.save(update_fields=["expiry_recorded"])
                events.record(
                    events.PAIRING_EXPIRED,
                    outcome=events.FAILURE,
                    actor="pairing",
                    details={"pairing": pairing_hex[:8], "attempts": session.attempts},
                )
        elif session.attempts >= session.max_attempts:
            error = TooManyAttempts("this pairing session allows no more attempts")
            if session.attempts == session.max_attempts:
                # Logged once: later tries with the same id are refused silently.
                session.attempts += 1
                session.save(update_fields=["attempts"])
                _fail(error, pairing_hex)
        else:
            session.attempts += 1
            session.save(update_fields=["attempts"])
            sealed = bytes(session.secret_sealed)
    if isinstance(error, UnknownPairing):
        # Throttled: random ids from a scanner must not flood the audit trail.
        events.auth_failed("unknown pairing id", ip=None, actor="pairing")
    if error is not None:
        raise error
    return secretbox.open_sealed(sealed, purpose=PAIRING_SECRET_PURPOSE)


def _clean_name(name: str, platform: str) -> tuple[str, str]:
    name = " ".join((name or "").split())[:100] or "Phone"
    platform = " ".join((platform or "").split())[:50]
    return name, platform


def complete_pairing(
    pairing_id: bytes,
    device_static_public: bytes,
    name: str,
    platform: str,
    sas: str,
    device_psk: bytes | None = None,
) -> tuple[Device, bytes]:
    """Use up the session and store the device (pending or active according to
    ``pairing_requires_approval``); returns the device and its psk.

    The responder already sent the device psk in message 2 of the pairing handshake (before it
    learns the SAS and the PAIR_CONFIRM name), so it passes that psk here; without one, a fresh
    psk is made."""
    pairing_hex = bytes(pairing_id).hex()
    public = bytes(device_static_public)
    if len(public) != 32:
        raise DeviceError("a device static key is 32 bytes", "device_static_public")
    if not (isinstance(sas, str) and len(sas) == 6 and sas.isdigit()):
        raise DeviceError("the short authentication string is 6 digits", "sas")
    name, platform = _clean_name(name, platform)
    requires_approval = instance_settings.current().pairing_requires_approval
    if device_psk is not None and len(device_psk) != handshake.PSK_LEN:
        raise DeviceError("a device psk is 32 bytes", "device_psk")
    psk = bytes(device_psk) if device_psk is not None else handshake.generate_psk()
    now = timezone.now()
    error: PairingError | None = None
    with transaction.atomic():
        session = PairingSession.objects.select_for_update().filter(pairing_id=pairing_hex).first()
        existing = Device.objects.select_for_update().filter(public_key=public.hex()).first()
        if session is None:
            error = UnknownPairing("no pairing session has this id")
        elif session.used_at is not None:
            error = _fail(PairingUsed("this pairing session was used already"), pairing_hex)
        elif now >= session.expires_at + COMPLETION_GRACE:
            error = _fail(PairingExpired("this pairing session has expired"), pairing_hex)
        elif existing is not None and existing.status != Device.REVOKED:
            error = _fail(
                PairingError("this device key is paired already"), pairing_hex, device=existing.pk
            )
        else:
            device = existing or Device(public_key=public.hex())
            device.name, device.platform, device.sas = name, platform, sas
            device.psk_sealed = secretbox.seal(psk, purpose=DEVICE_PSK_PURPOSE)
            device.status = Device.PENDING if requires_approval else Device.ACTIVE
            device.approved_at = None if requires_approval else now
            device.approval_failures = 0
            device.revoked_at = None
            device.last_seen_at = now
            device.pairing = session
            device.save()
            if existing is not None:
                # A re-pair of a revoked key starts a new pairing time.
                Device.objects.filter(pk=device.pk).update(paired_at=now)
            session.used_at = now
            session.save(update_fields=["used_at"])
            events.record(
                events.PAIRING_COMPLETED,
                actor=f"device:{fingerprint(public)}",
                details={
                    "pairing": pairing_hex[:8],
                    "device": device.pk,
                    "name": name,
                    "platform": platform,
                    "fingerprint": fingerprint(public),
                    "status": device.status,
                },
            )
    if error is not None:
        raise error
    device.refresh_from_db()
    return device, psk


def psk_for_device(static_public: bytes) -> bytes | None:
    """The psk of an active device with this static key; None for unknown, pending or revoked."""
    if len(static_public) != 32:
        return None
    device = Device.objects.filter(
        public_key=bytes(static_public).hex(), status=Device.ACTIVE
    ).first()
    if device is None:
        return None
    return secretbox.open_sealed(bytes(device.psk_sealed), purpose=DEVICE_PSK_PURPOSE)


def device_for_key(static_public: bytes) -> Device | None:
    """The device row with this static key, whatever its status."""
    return Device.objects.filter(public_key=bytes(static_public).hex()).first()


def touch_device(static_public: bytes, *, when: datetime | None = None) -> bool:
    """Note that a device was seen (written at most every 30 s); returns whether it wrote."""
    when = when or timezone.now()
    return bool(
        Device.objects.filter(public_key=bytes(static_public).hex(), status=Device.ACTIVE)
        .exclude(last_seen_at__gt=when - _TOUCH_RESOLUTION)
        .update(last_seen_at=when)
    )


# --- owner actions ------------------------------------------------------------------------------


def approve_device(device: Device, code: str, *, actor: str = "", ip: str | None = None) -> Device:
    """Activate a pending device when ``code`` matches the 6 digits on the phone; five wrong
    codes revoke it."""
    code = (code or "").strip().replace(" ", "")
    error: DeviceError | None = None
    # Errors are raised after the transaction so the failure count and audit event stay.
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=device.pk)
        if device.status == Device.REVOKED:
            error = DeviceError("this device was revoked: pair it again", "status")
        elif device.status == Device.PENDING and not hmac.compare_digest(
            code.encode(), device.sas.encode()
        ):
            device.approval_failures += 1
            device.save(update_fields=["approval_failures"])
            events.record(
                events.DEVICE_APPROVAL_FAILED,
                outcome=events.FAILURE,
                actor=actor,
                ip=ip,
                details={"device": device.pk, "failures": device.approval_failures},
            )
            error = DeviceError(
                "the code does not match the one shown on the phone: check it and try again",
                "code",
            )
            if device.approval_failures >= settings.PULSE_PAIRING_MAX_ATTEMPTS:
                _revoke(device, actor=actor, ip=ip, reason="too many wrong approval codes")
                error = DeviceError(
                    "too many wrong codes: the device was revoked, pair it again", "code"
                )
        elif device.status == Device.PENDING:
            device.status = Device.ACTIVE
            device.approved_at = timezone.now()
            device.save(update_fields=["status", "approved_at"])
            events.record(
                events.DEVICE_APPROVED,
                actor=actor,
                ip=ip,
                details={"device": device.pk, "name": device.name},
            )
    if error is not None:
        raise error
    return device


def rename_device(device: Device, name: str, *, actor: str = "", ip: str | None = None) -> Device:
    """Give a device a new display name."""
    new_name, _ = _clean_name(name, "")
    if not (name or "").strip():
        raise DeviceError("a device name is 1-100 characters", "name")
    old = device.name
    if new_name != old:
        with transaction.atomic():
            Device.objects.filter(pk=device.pk).update(name=new_name)
            events.record(
                events.DEVICE_RENAMED,
                actor=actor,
                ip=ip,
                details={"device": device.pk, "old": old, "new": new_name},
            )
        device.refresh_from_db()
    return device


def _revoke(device: Device, *, actor: str, ip: str | None, reason: str) -> bool:
    changed = (
        Device.objects.filter(pk=device.pk)
        .exclude(status=Device.REVOKED)
        .update(status=Device.REVOKED, revoked_at=timezone.now())
    )
    if not changed:
        return False
    public = device.public_key_bytes
    events.record(
        events.DEVICE_REVOKED,
        actor=actor,
        ip=ip,
        details={"device": device.pk, "name": device.name, "reason": reason},
    )
    device.refresh_from_db()
    transaction.on_commit(
        lambda: device_revoked.send_robust(
            sender=Device, device=device, public_key=public, fingerprint=fingerprint(public)
        )
    )
    return True


def revoke_device(
    device: Device, *, actor: str = "", ip: str | None = None, reason: str = "revoked by owner"
) -> bool:
    """Revoke a device (idempotent); listeners of ``device_revoked`` close its channels."""
    with transaction.atomic():
        return _revoke(device, actor=actor, ip=ip, reason=reason)


def revoke_all_devices(*, actor: str = "", ip: str | None = None, reason: str = "") -> int:
    """Revoke every pending or active device; returns how many."""
    count = 0
    with transaction.atomic():
        for device in Device.objects.exclude(status=Device.REVOKED):
            count += _revoke(device, actor=actor, ip=ip, reason=reason or "revoked by owner")
    return count


def online_fingerprints() -> set[str]:
    """Fingerprints of devices the running connector reports with an open channel."""
    status = connector_status.read()
    return set(status.online_devices) if status.running else set()


__all__ = [
    "Diagnostic",
    "PairingError",
    "PairingExpired",
    "PairingNotPossible",
    "PairingUsed",
    "TooManyAttempts",
    "UnknownPairing",
    "approve_device",
    "complete_pairing",
    "create_pairing_session",
    "psk_for_device",
    "psk_for_pairing_attempt",
    "revoke_device",
    "touch_device",
]


# --- routing tokens -----------------------------------------------------------------------------


def routing_hashes() -> list[str]:
    """Hashes of the routing tokens the relay should admit: active devices and live pairings."""
    secrets_: list[bytes] = [
        secretbox.open_sealed(bytes(sealed), purpose=DEVICE_PSK_PURPOSE)
        for sealed in Device.objects.filter(status=Device.ACTIVE).values_list(
            "psk_sealed", flat=True
        )
    ]
    live = PairingSession.objects.filter(used_at__isnull=True, expires_at__gt=timezone.now())
    secrets_ += [
        secretbox.open_sealed(bytes(sealed), purpose=PAIRING_SECRET_PURPOSE)
        for sealed, attempts, limit in live.values_list("secret_sealed", "attempts", "max_attempts")
        if attempts < limit
    ]
    return sorted({routing_hash(routing_token(secret)) for secret in secrets_})
