"""The monitoring API: one sample as JSON, or a server-sent-event stream of samples.

Reached by the instance's owner (a logged-in staff session) or by a paired device through the
tunnel (``request.pulse_device``, set by instance.tunnel.auth only for the tunnel's own requests).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from instance.monitor import sampling

MIN_INTERVAL = 0.1
MAX_INTERVAL = 3600.0
MAX_COUNT = 1_000_000
FORBIDDEN = (
    "the monitor API needs the instance owner's login, or a paired device calling through the "
    "relay tunnel"
)


def is_owner(user) -> bool:
    """Whether ``user`` is the instance's owner (an active staff login)."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and (user.is_staff or user.is_superuser)
    )


async def may_monitor(request: HttpRequest) -> bool:
    """A paired device through the tunnel, or the owner's session."""
    if getattr(request, "pulse_device", None) is not None:
        return True
    return is_owner(await request.auser())


def _error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


@require_GET
async def sample_view(request: HttpRequest) -> HttpResponse:
    """GET /api/monitor/sample: one sample as JSON."""
    if not await may_monitor(request):
        return _error(403, FORBIDDEN)
    response = JsonResponse(sampling.sample())
    response["Cache-Control"] = "no-store"
    return response


def parse_stream_query(query) -> tuple[float, int | None]:
    """(interval seconds, count or None for no end) from ?interval=&count=; ValueError says why."""
    try:
        interval = float(query.get("interval", "1"))
    except ValueError:
        raise ValueError("interval must be a number of seconds, e.g. interval=1") from None
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        raise ValueError(f"interval must be between {MIN_INTERVAL:g} and {MAX_INTERVAL:g} seconds")
    raw_count = query.get("count")
    if raw_count in (None, ""):
        return interval, None
    if not raw_count.isdigit() or not 1 <= int(raw_count) <= MAX_COUNT:
        raise ValueError(f"count must be a whole number from 1 to {MAX_COUNT}, or left out")
    return interval, int(raw_count)


async def sample_events(interval: float, count: int | None) -> AsyncIterator[bytes]:
    """SSE ``event: sample`` messages, the first at once, then one per interval."""
    sent = 0
    while count is None or sent < count:
        if sent:
            await asyncio.sleep(interval)
        data = json.dumps(sampling.sample(), separators=(",", ":"))
        yield f"event: sample\ndata: {data}\n\n".encode()
        sent += 1


@require_GET
async def stream_view(request: HttpRequest) -> HttpResponse:
    """GET /api/monitor/stream?interval=1&count=N: samples as server-sent events."""
    if not await may_monitor(request):
        return _error(403, FORBIDDEN)
    try:
        interval, count = parse_stream_query(request.GET)
    except ValueError as exc:
        return _error(400, str(exc))
    # An async iterator, so Django's ASGI handler sends each event as it is produced.
    response = StreamingHttpResponse(
        sample_events(interval, count), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx in front of the instance must not buffer
    return response
