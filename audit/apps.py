"""App configuration for the hash-chained audit trail."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    """Registers the audit app and its signal receivers."""

    name = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        """Connect the receivers that record failed logins."""
        from audit import receivers  # noqa: F401
