"""System checks for the process as a whole, with stable ids (pulse.E001, pulse.E003)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

KNOWN_ROLES = ("relay", "instance")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@register(Tags.compatibility, deploy=False)
def check_roles(app_configs=None, **kwargs) -> list:
    """PULSE_ROLES must name at least one known role and nothing else."""
    roles = settings.PULSE_ROLES
    unknown = [role for role in roles if role not in KNOWN_ROLES]
    if unknown:
        return [
            Error(
                f"PULSE_ROLES names unknown role(s): {', '.join(unknown)}.",
                hint="Use a comma list of: relay, instance (default: both).",
                id="pulse.E001",
            )
        ]
    if not roles:
        return [
            Error(
                "PULSE_ROLES is empty.",
                hint="Set it to relay, instance or relay,instance.",
                id="pulse.E001",
            )
        ]
    return []


@register(Tags.compatibility)
def check_log_level(app_configs=None, **kwargs) -> list:
    """PULSE_LOG_LEVEL must be a standard logging level name."""
    if settings.LOG_LEVEL not in LOG_LEVELS:
        return [
            Error(
                f"PULSE_LOG_LEVEL={settings.LOG_LEVEL!r} is not a logging level.",
                hint=f"Use one of {', '.join(LOG_LEVELS)}.",
                id="pulse.E003",
            )
        ]
    return []
