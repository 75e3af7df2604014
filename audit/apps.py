"""App configuration for the hash-chained audit trail."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    """Registers the audit app."""

    name = "audit"
    verbose_name = "Audit"
