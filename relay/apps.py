"""App configuration for the relay role and the instance's relay settings."""

from django.apps import AppConfig


class RelayConfig(AppConfig):
    """Registers the relay app and its configuration checks."""

    name = "relay"
    verbose_name = "Relay"

    def ready(self) -> None:
        """Register the system checks that validate Relay's configuration."""
        from relay import checks  # noqa: F401
