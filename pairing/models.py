"""Pairing sessions (one QR code or deep link each) and paired devices."""

from __future__ import annotations

from django.db import models


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

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"pairing {self.pairing_id[:8]}…"


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

    class Meta:
        ordering = ["-paired_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def public_key_bytes(self) -> bytes:
        """The raw 32-byte static public key."""
        return bytes.fromhex(self.public_key)
