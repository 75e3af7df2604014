"""The Django admin's view of pairing sessions and devices: read-only lists, plus an audited
"revoke" action (approvals need the phone's 6-digit code, so they happen on Settings → Relay)."""

from django.contrib import admin, messages

from pairing.models import Device, PairingSession


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    """Paired devices; the only change the admin makes is an audited revocation."""

    list_display = ("name", "platform", "status", "paired_at", "last_seen_at")
    list_filter = ("status",)
    search_fields = ("name", "public_key")
    readonly_fields = [field.name for field in Device._meta.fields]
    exclude = ("psk_sealed",)
    actions = ["revoke_selected"]

    def has_add_permission(self, request) -> bool:
        """Devices come only from a completed pairing."""
        return False

    @admin.action(description="Revoke the selected devices (their channels close)")
    def revoke_selected(self, request, queryset) -> None:
        """Revoke through the model, so each revocation is audited and announced."""
        count = queryset.revoke_all(actor=f"user:{request.user.get_username()}")
        self.message_user(request, f"{count} device(s) revoked.", messages.SUCCESS)


@admin.register(PairingSession)
class PairingSessionAdmin(admin.ModelAdmin):
    """Pairing sessions (their secrets sealed and never shown)."""

    list_display = ("pairing_id", "created_at", "expires_at", "attempts", "used_at")
    readonly_fields = [field.name for field in PairingSession._meta.fields]
    exclude = ("secret_sealed",)

    def has_add_permission(self, request) -> bool:
        """Sessions are made by "Pair a phone" (the QR code carries their secret)."""
        return False
