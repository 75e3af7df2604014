"""The composition root as an app: its project-wide checks and the all-in-one ``serve``."""

from django.apps import AppConfig


class RelayProjectConfig(AppConfig):
    """Registers the checks that concern the whole process (roles, log level)."""

    name = "relayproject"
    verbose_name = "Relay project"

    def ready(self) -> None:
        """Register the project-wide system checks."""
        from relayproject import checks  # noqa: F401
