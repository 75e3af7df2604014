"""System checks for Relay's configuration, with stable ids (pulse.E00x / pulse.W00x)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

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
def check_relay_server(app_configs=None, **kwargs) -> list:
    """PULSE_RELAY_SERVER, when set, must be a ws:// or wss:// URL with a host."""
    value = settings.PULSE_RELAY_SERVER
    if not value:
        return []
    parts = urlsplit(value)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        return [
            Error(
                f"PULSE_RELAY_SERVER={value!r} is not a WebSocket URL.",
                hint="Use ws://host[:port] or wss://host[:port], optionally with /ws/instance.",
                id="pulse.E002",
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


@register(Tags.compatibility)
def check_channel_layer(app_configs=None, **kwargs) -> list:
    """A relay worker without Redis cannot route to other workers: warn when that is likely."""
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    relay_only = "relay" in settings.PULSE_ROLES and "instance" not in settings.PULSE_ROLES
    if relay_only and backend.endswith("InMemoryChannelLayer"):
        return [
            Warning(
                "This relay-only worker uses the in-memory channel layer.",
                hint="Set REDIS_URL so several relay workers can route frames to each other.",
                id="pulse.W001",
            )
        ]
    return []


@register(Tags.compatibility)
def check_relay_upstream(app_configs=None, **kwargs) -> list:
    """PULSE_RELAY_UPSTREAM, when set, must be an http:// or https:// URL with a host."""
    from relay.tunnel_upstream import upstream_problem

    value = getattr(settings, "PULSE_RELAY_UPSTREAM", "")
    problem = upstream_problem(value) if value else ""
    if problem:
        return [
            Error(
                f"{problem}.",
                hint="Use the local service's base URL, e.g. http://127.0.0.1:7655, or unset it "
                "to tunnel to the instance's own app.",
                id="pulse.E020",
            )
        ]
    return []


DAPHNE_MESSAGE_LIMIT = 1 << 20
FRAME_HEADER_BYTES = 12


@register(Tags.compatibility)
def check_frame_size_fits_daphne(app_configs=None, **kwargs) -> list:
    """Frames over daphne's 1 MiB message limit make daphne drop the socket: warn."""
    if settings.PULSE_MAX_FRAME_BYTES + FRAME_HEADER_BYTES > DAPHNE_MESSAGE_LIMIT:
        return [
            Warning(
                f"PULSE_MAX_FRAME_BYTES={settings.PULSE_MAX_FRAME_BYTES} makes frames larger "
                "than daphne's 1 MiB WebSocket message limit.",
                hint="Keep it at 1048564 or less, or serve relay workers with uvicorn "
                "(--ws-max-size) or `manage.py serve`, which raise the limit.",
                id="pulse.W002",
            )
        ]
    return []
