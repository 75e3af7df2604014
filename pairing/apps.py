"""App configuration for pairing sessions and paired devices."""

from django.apps import AppConfig


class PairingConfig(AppConfig):
    """Registers the pairing app."""

    name = "pairing"
    verbose_name = "Pairing"
