"""Pairing sessions: the invitation a QR code or deep link carries, and its completion.

A pairing session is a single-use invitation holding a random pairing id and a 32-byte pairing
secret, the Noise psk for the pairing handshake; the secret is sealed at rest because the
instance needs it back. When a phone completes the pairing handshake the instance stores the
phone's static key and a fresh per-device psk (sealed), pending the owner's approval with the
6-digit code when ``pairing_requires_approval``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import events
from instance import relay_settings, secretbox
from instance import status as connector_status
from instance.devices import PairingRefused
from pairing.models import Device, DeviceError, PairingSession, clean_name
from relayproto import handshake
from relayproto.deeplink import PairingInvite
from relayproto.routing import routing_hash, routing_token

PAIRING_SECRET_PURPOSE = b"pulse pairing secret v1"
DEVICE_PSK_PURPOSE = b"pulse device psk v1"
# The handshake has already proved knowledge of the secret: allow it to finish just after expiry.
COMPLETION_GRACE = timedelta(seconds=30)


class PairingError(PairingRefused):
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


# --- diagnostics and session creation ---------------------------------------------------------


def pairing_diagnostics() -> list[Diagnostic]:
    """Everything that stops a phone from pairing right now (empty when it can)."""
    current = relay_settings.current()
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
    public = relay_settings.ensure_identity()
    current = relay_settings.current()
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
        relay_url=relay_settings.relay_base_url(current.server_url),
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
    return PairingSession.objects.live().update(expires_at=timezone.now())


def open_sessions() -> list[PairingSession]:
    """Unused pairing sessions whose time has not run out, newest first."""
    return list(PairingSession.objects.live()[:50])


def cancel_session(pairing_id: bytes, *, actor: str = "", ip: str | None = None) -> bool:
    """End an unused pairing session now (its QR code stops working); returns whether it was
    open. Audited."""
    pairing_hex = bytes(pairing_id).hex()
    with transaction.atomic():
        ended = (
            PairingSession.objects.live()
            .filter(pairing_id=pairing_hex)
            .update(expires_at=timezone.now(), expiry_recorded=True)
        )
        if ended:
            events.record(
                events.PAIRING_CANCELLED, actor=actor, ip=ip, details={"pairing": pairing_hex[:8]}
            )
    return bool(ended)


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
    name, platform = clean_name(name, platform)
    requires_approval = relay_settings.current().pairing_requires_approval
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
                actor=f"device:{handshake.key_fingerprint(public)}",
                details={
                    "pairing": pairing_hex[:8],
                    "device": device.pk,
                    "name": name,
                    "platform": platform,
                    "fingerprint": handshake.key_fingerprint(public),
                    "status": device.status,
                },
            )
    if error is not None:
        raise error
    device.refresh_from_db()
    return device, psk


# --- routing tokens -----------------------------------------------------------------------------


def routing_hashes() -> list[str]:
    """Hashes of the routing tokens the relay should admit: active devices and live pairings."""
    secrets_: list[bytes] = [
        secretbox.open_sealed(bytes(sealed), purpose=DEVICE_PSK_PURPOSE)
        for sealed in Device.objects.active().values_list("psk_sealed", flat=True)
    ]
    live = PairingSession.objects.live()
    secrets_ += [
        secretbox.open_sealed(bytes(sealed), purpose=PAIRING_SECRET_PURPOSE)
        for sealed, attempts, limit in live.values_list("secret_sealed", "attempts", "max_attempts")
        if attempts < limit
    ]
    return sorted({routing_hash(routing_token(secret)) for secret in secrets_})
