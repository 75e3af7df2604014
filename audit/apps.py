"""App configuration for the hash-chained audit trail."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    """Registers the audit app and its signal receivers."""

    name = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        """Connect the receivers of the instance's events and failed logins, and give
        Settings → Relay the newest event's number, so the page knows when to reload its list."""
        from audit import receivers  # noqa: F401
        from audit.models import AuditChainHead
        from instance import live

        live.register(
            "audit",
            lambda: {"head": AuditChainHead.objects.values_list("seq", flat=True).first() or 0},
        )
