"""App configuration for the hosted relay: sockets, hub, admission. No models, no database."""

from django.apps import AppConfig


class RelayConfig(AppConfig):
    """Registers the relay app and the checks of a relay worker's configuration."""

    name = "relay"
    verbose_name = "Relay"

    def ready(self) -> None:
        """Register the system checks that validate a relay worker's configuration."""
        from relay import checks  # noqa: F401
