"""Pairing sessions (one QR code or deep link each) and paired devices, with their behaviour.

A device's life (approve with the 6-digit code, rename, revoke) is on the model, each step
audited in the same transaction as the change it records, so the trail never claims a change
that rolled back or misses one that stayed.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from audit import events
from pairing.signals import device_revoked
from relayproto import handshake


class DeviceError(ValueError):
    """An owner action on a device that cannot be done; ``field`` names the bad input."""

    def __init__(self, message: str, field: str | None = None) -> None:
        """Remember the field the message is about."""
        super().__init__(message)
        self.field = field


def clean_name(name: str, platform: str = "") -> tuple[str, str]:
    """A device name and platform as stored: whitespace collapsed, cut to the field sizes."""
    name = " ".join((name or "").split())[:100] or "Phone"
    platform = " ".join((platform or "").split())[:50]
    return name, platform


class PairingSessionQuerySet(models.QuerySet):
    """Queries over pairing sessions."""

    def live(self) -> PairingSessionQuerySet:
        """Unused sessions whose time has not run out."""
        return self.filter(used_at__isnull=True, expires_at__gt=timezone.now())


class PairingSession(models.Model):
    """A single-use, short-lived invitation for one phone to pair."""

    pairing_id = models.CharField(max_length=32, unique=True, help_text="16 bytes, hex")
    secret_sealed = models.BinaryField(help_text="the pairing secret (Noise psk), sealed")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=5)
    used_at = models.DateTimeField(null=True, blank=True)
    expiry_recorded = models.BooleanField(default=False)
    created_by = models.CharField(max_length=200, blank=True)

    objects = PairingSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"pairing {self.pairing_id[:8]}…"


class DeviceQuerySet(models.QuerySet):
    """Queries over paired devices."""

    def active(self) -> DeviceQuerySet:
        """Devices that may open channels."""
        return self.filter(status=Device.ACTIVE)

    def with_key(self, static_public: bytes) -> DeviceQuerySet:
        """The device (if any) with this raw 32-byte static key."""
        return self.filter(public_key=bytes(static_public).hex())

    def revoke_all(self, *, actor: str = "", ip: str | None = None, reason: str = "") -> int:
        """Revoke every pending or active device in this set; returns how many."""
        count = 0
        with transaction.atomic():
            for device in self.exclude(status=Device.REVOKED):
                count += device.revoke(actor=actor, ip=ip, reason=reason or "revoked by owner")
        return count


class Device(models.Model):
    """A phone that paired with this instance."""

    PENDING = "pending"
    ACTIVE = "active"
    REVOKED = "revoked"
    STATUSES = [(PENDING, "pending approval"), (ACTIVE, "active"), (REVOKED, "revoked")]

    name = models.CharField(max_length=100)
    platform = models.CharField(max_length=50, blank=True)
    public_key = models.CharField(max_length=64, unique=True, help_text="X25519, hex")
    psk_sealed = models.BinaryField(help_text="the per-device psk, sealed")
    sas = models.CharField(max_length=6)
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING, db_index=True)
    approval_failures = models.PositiveSmallIntegerField(default=0)
    paired_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    pairing = models.ForeignKey(
        PairingSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="devices"
    )

    objects = DeviceQuerySet.as_manager()

    class Meta:
        ordering = ["-paired_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def public_key_bytes(self) -> bytes:
        """The raw 32-byte static public key."""
        return bytes.fromhex(self.public_key)

    @property
    def fingerprint(self) -> str:
        """The fingerprint the owner sees for this device's key."""
        return handshake.key_fingerprint(self.public_key_bytes)

    def approve(self, code: str, *, actor: str = "", ip: str | None = None) -> Device:
        """Activate a pending device when ``code`` matches the 6 digits on the phone; too many
        wrong codes revoke it. Returns the device as stored; raises DeviceError."""
        code = (code or "").strip().replace(" ", "")
        error: DeviceError | None = None
        # Errors are raised after the transaction so the failure count and audit event stay.
        with transaction.atomic():
            device = Device.objects.select_for_update().get(pk=self.pk)
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
                    device.revoke(actor=actor, ip=ip, reason="too many wrong approval codes")
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
        self.refresh_from_db()
        return self

    def rename(self, name: str, *, actor: str = "", ip: str | None = None) -> Device:
        """Give the device a new display name (1-100 characters); raises DeviceError."""
        if not (name or "").strip():
            raise DeviceError("a device name is 1-100 characters", "name")
        new_name, _ = clean_name(name)
        old = self.name
        if new_name != old:
            with transaction.atomic():
                Device.objects.filter(pk=self.pk).update(name=new_name)
                events.record(
                    events.DEVICE_RENAMED,
                    actor=actor,
                    ip=ip,
                    details={"device": self.pk, "old": old, "new": new_name},
                )
            self.refresh_from_db()
        return self

    def revoke(
        self, *, actor: str = "", ip: str | None = None, reason: str = "revoked by owner"
    ) -> bool:
        """Revoke the device (idempotent); returns whether it changed. Listeners of
        ``device_revoked`` hear of it once the transaction commits; the connector closes the
        device's open channels within a second."""
        with transaction.atomic():
            changed = (
                Device.objects.filter(pk=self.pk)
                .exclude(status=Device.REVOKED)
                .update(status=Device.REVOKED, revoked_at=timezone.now())
            )
            if not changed:
                return False
            events.record(
                events.DEVICE_REVOKED,
                actor=actor,
                ip=ip,
                details={"device": self.pk, "name": self.name, "reason": reason},
            )
            self.refresh_from_db()
            public, fingerprint = self.public_key_bytes, self.fingerprint
            transaction.on_commit(
                lambda: device_revoked.send_robust(
                    sender=Device, device=self, public_key=public, fingerprint=fingerprint
                )
            )
        return True
