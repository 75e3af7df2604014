"""Liveness for every role: the process is up and says what it plays."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.http import require_GET


def channel_layer_name() -> str:
    """Name the configured channel layer backend briefly: 'redis' or 'in-memory'."""
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    return "redis" if "channels_redis" in backend else "in-memory"


@require_GET
def healthz(request):
    """Liveness: the process is up and serving requests (no database, no Redis touched)."""
    return JsonResponse(
        {
            "status": "ok",
            "version": settings.VERSION,
            "roles": list(settings.PULSE_ROLES),
            "channel_layer": channel_layer_name(),
        }
    )
