"""HTTP endpoints of the relay role: readiness and Prometheus metrics."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from relay.hub import get_hub


def _layer_kind() -> str:
    return (
        "redis"
        if "channels_redis" in settings.CHANNEL_LAYERS["default"]["BACKEND"]
        else "in-memory"
    )


@require_GET
async def readyz(request):
    """Readiness: the channel layer carries a message to this worker and back, and the worker
    is not draining. ``?balancer=1`` asks only "should new sockets come here?": a Redis outage
    then answers 200 ``degraded``, because every worker shares the Redis, and taking them all
    out would cut even the channels that stay inside one worker."""
    hub = get_hub()
    for_balancer = request.GET.get("balancer") == "1"
    if hub.leaving:
        return JsonResponse(
            {
                "status": "draining",
                "channel_layer": _layer_kind(),
                "problem": "this worker is shutting down; its sockets are moving to other workers",
            },
            status=503,
        )
    problem = await hub.probe(within=2.0)
    body = {
        "status": "ok" if problem is None else "unavailable",
        "channel_layer": _layer_kind(),
    }
    if problem is not None:
        body["problem"] = problem
        if for_balancer and hub.started:
            body["status"] = "degraded"
            return JsonResponse(body, status=200)
    return JsonResponse(body, status=200 if problem is None else 503)


@require_GET
def metrics(request):
    """This worker's metrics in Prometheus text format."""
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
