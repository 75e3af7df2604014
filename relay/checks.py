"""System checks for a relay worker's configuration, with stable ids (pulse.W001, pulse.W002)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.compatibility)
def check_channel_layer(app_configs=None, **kwargs) -> list:
    """A relay worker without Redis cannot route to other workers: warn when that is likely."""
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    relay_only = "relay" in settings.PULSE_ROLES and "instance" not in settings.PULSE_ROLES
    if relay_only and backend.endswith("InMemoryChannelLayer"):
        return [
            Warning(
                "This relay-only worker uses the in-memory channel layer.",
                hint="Set REDIS_URL (or PULSE_REDIS_SENTINELS for Redis Sentinel) so several "
                "relay workers can route frames to each other.",
                id="pulse.W001",
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
