"""App configuration for pairing sessions and paired devices."""

from django.apps import AppConfig


class PairingConfig(AppConfig):
    """Registers the pairing app and the checks of the secrets it depends on."""

    name = "pairing"
    verbose_name = "Pairing"

    def ready(self) -> None:
        """Register the relay.enc / relay.key system checks (pairing needs both)."""
        from relay import instance_checks  # noqa: F401
