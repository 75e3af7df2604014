"""The Django admin's view of the audit trail: read-only, as a hash chain must be."""

from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Events newest first; nothing can be added, changed or deleted here."""

    list_display = ("seq", "created_at", "event", "outcome", "actor", "ip")
    ordering = ("-seq",)
    list_filter = ("outcome", "event")
    search_fields = ("event", "actor")

    def has_add_permission(self, request) -> bool:
        """Only the application appends to the chain."""
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        """A changed row would break the chain."""
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        """Deleting rows is `manage.py prune_audit`'s job, which keeps the chain verifiable."""
        return False
