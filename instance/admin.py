"""The Django admin's view of API tokens: read-only, since tokens are made and revoked on the
Settings → Relay page or through the API, where each change is audited."""

from django.contrib import admin

from instance.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens by name, prefix, scopes and use; no secret is stored, so none is shown."""

    list_display = ("name", "prefix", "created_at", "last_used_at", "revoked_at")
    search_fields = ("name", "prefix")
    readonly_fields = [field.name for field in ApiToken._meta.fields]

    def has_add_permission(self, request) -> bool:
        """Tokens are created on Settings → Relay (shown once there)."""
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        """Read-only: revoking is an audited action on Settings → Relay."""
        return False
