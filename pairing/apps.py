"""App configuration for pairing sessions and paired devices."""

from django.apps import AppConfig


class PairingConfig(AppConfig):
    """Registers the pairing app with the instance: device directory and page parts."""

    name = "pairing"
    verbose_name = "Pairing"

    def ready(self) -> None:
        """Answer the responder's questions about devices and pairings (instance.devices) and
        give Settings → Relay its devices and pairings parts (instance.live)."""
        from instance import devices, live
        from pairing.directory import PairingDirectory
        from pairing.live_parts import devices_part, pairings_part

        devices.register(PairingDirectory())
        live.register("devices", devices_part)
        live.register("pairings", pairings_part)
