"""HTTP endpoints of the relay role: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from relay.hub import get_hub


def channel_layer_name() -> str:
    """Name the configured channel layer backend briefly: 'redis' or 'in-memory'."""
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    return "redis" if "channels_redis" in backend else "in-memory"


@require_GET
def healthz(request):
    """Liveness: the process is up and serving requests."""
    return JsonResponse(
        {"status": "ok", "version": settings.VERSION, "channel_layer": channel_layer_name()}
    )


@require_GET
async def readyz(request):
    """Readiness: the channel layer carries a message to this worker and back."""
    problem = await get_hub().probe(within=2.0)
    body = {
        "status": "ok" if problem is None else "unavailable",
        "channel_layer": channel_layer_name(),
    }
    if problem is not None:
        body["problem"] = problem
    return JsonResponse(body, status=200 if problem is None else 503)


@require_GET
def metrics(request):
    """This worker's metrics in Prometheus text format."""
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
