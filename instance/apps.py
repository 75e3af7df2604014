"""App configuration for the home side: connector, responder, tunnel, relay.enc, API plumbing."""

from django.apps import AppConfig


class InstanceConfig(AppConfig):
    """Registers the instance app and the checks of its configuration and secrets at rest."""

    name = "instance"
    verbose_name = "Instance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the system checks (relay URL, upstream, relay.enc and relay.key) and the
        relay part of Settings → Relay."""
        from instance import checks, live  # noqa: F401
        from instance.relay_part import relay_part

        live.register("relay", relay_part)
