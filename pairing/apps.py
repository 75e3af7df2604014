"""App configuration for pairing sessions and paired devices."""

from django.apps import AppConfig


class PairingConfig(AppConfig):
    """Registers the pairing app as the instance responder's device directory."""

    name = "pairing"
    verbose_name = "Pairing"

    def ready(self) -> None:
        """Answer the responder's questions about devices and pairings (instance.devices)."""
        from instance import devices
        from pairing.directory import PairingDirectory

        devices.register(PairingDirectory())
