"""Serializers of the onboarding and devices API."""

from __future__ import annotations

from rest_framework import serializers

from instance.serializers import RejectUnknownFieldsMixin
from pairing.models import Device


class OnboardingSerializer(serializers.Serializer):
    """A new pairing session: the deep link, and for the QR endpoint its QR code."""

    deep_link = serializers.CharField(help_text="pulse://pair?… (see docs/protocol.md)")
    expires_at = serializers.DateTimeField()
    expires_in = serializers.IntegerField(help_text="seconds from this answer until it expires")
    pairing_id = serializers.CharField(help_text="16 bytes, unpadded base64url")


class OnboardingQRSerializer(OnboardingSerializer):
    """A new pairing session with its QR code."""

    qr_png = serializers.CharField(help_text="data:image/png;base64,…")
    qr_svg = serializers.CharField(help_text="a standalone SVG document")


class PairingSessionSerializer(serializers.Serializer):
    """An open pairing session (its secret never leaves the instance again)."""

    id = serializers.CharField(help_text="the pairing id, unpadded base64url")
    short = serializers.CharField(help_text="first 8 hex digits, as the audit trail names it")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    attempts = serializers.IntegerField()
    max_attempts = serializers.IntegerField()


class DiagnosticSerializer(serializers.Serializer):
    """One reason pairing is not possible yet."""

    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(allow_null=True)


class NotReadySerializer(serializers.Serializer):
    """409: what to fix before a phone can pair."""

    detail = serializers.CharField()
    diagnostics = DiagnosticSerializer(many=True)


class DeviceSerializer(serializers.ModelSerializer):
    """A paired device as the owner sees it."""

    fingerprint = serializers.SerializerMethodField()
    online = serializers.SerializerMethodField()

    class Meta:
        model = Device
        fields = [
            "id",
            "name",
            "platform",
            "status",
            "paired_at",
            "approved_at",
            "last_seen_at",
            "revoked_at",
            "fingerprint",
            "online",
        ]
        read_only_fields = fields

    def get_fingerprint(self, device: Device) -> str:
        """The device key's fingerprint."""
        return device.fingerprint

    def get_online(self, device: Device) -> bool:
        """Whether the connector reports an open channel for it."""
        online = self.context.get("online", set())
        return device.status == Device.ACTIVE and self.get_fingerprint(device) in online


class DeviceApproveSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """The 6-digit code shown on the phone."""

    code = serializers.RegexField(r"^\s*\d{3}\s?\d{3}\s*$", max_length=8)


class DeviceRenameSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A device's new name."""

    name = serializers.CharField(max_length=100)
