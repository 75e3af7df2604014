"""The owner's pages: the start page and Settings → Relay (login required), and the event
stream that keeps Settings → Relay live.

The page is rendered from the same snapshot the stream sends (instance.live), so the first
paint is complete; its script (static/instance/settings-relay.js) then applies each part the
stream sends again, and makes its changes through the instance API with the owner's session.
"""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponseForbidden, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from instance import live, tokens
from instance.api.authentication import client_ip
from instance.models import ApiToken

# How often the stream compares snapshots, how often it says it is alive, and how long one
# stream lasts before the browser reconnects (EventSource does so by itself).
STREAM_POLL_SECONDS = 0.5
STREAM_KEEPALIVE_SECONDS = 15.0
STREAM_LIFETIME_SECONDS = 3600.0


def _context(request, **extra) -> dict:
    state = live.snapshot()
    return {
        "state": state,
        "relay": state.get("relay", {}),
        "devices": state.get("devices", []),
        "pairings": state.get("pairings", []),
        "tokens": ApiToken.objects.all()[:200],
        "scopes": tokens.SCOPES,
        "ttl_seconds": settings.PULSE_PAIRING_TTL_SECONDS,
        **extra,
    }


@require_GET
def home(request):
    """The start page is Settings → Relay; the login page first for anyone not logged in."""
    if request.user.is_authenticated and request.user.is_staff:
        return redirect("settings-relay")
    return redirect(f"{reverse('login')}?next={reverse('settings-relay')}")


@staff_member_required(login_url="login")
@require_http_methods(["GET", "POST"])
def settings_relay(request):
    """Show the relay summary and the tokens; POST creates a token and shows it once."""
    if request.method == "GET":
        return render(request, "relay/settings_relay.html", _context(request))
    try:
        token, plaintext = tokens.create_token(
            request.POST.get("name", ""),
            request.POST.getlist("scopes"),
            actor=f"user:{request.user.get_username()}",
            ip=client_ip(request),
        )
    except tokens.TokenError as exc:
        return render(
            request, "relay/settings_relay.html", _context(request, error=str(exc)), status=400
        )
    # Rendered, not redirected: the secret must not be stored in the session to survive a hop.
    return render(
        request,
        "relay/settings_relay.html",
        _context(request, new_token=plaintext, new_token_name=token.name),
        status=201,
    )


@staff_member_required(login_url="login")
@require_POST
def revoke_token(request, pk: int):
    """Revoke one token and go back to the page."""
    token = get_object_or_404(ApiToken, pk=pk)
    if tokens.revoke_token(
        token, actor=f"user:{request.user.get_username()}", ip=client_ip(request)
    ):
        messages.success(request, f"Token '{token.name}' revoked.")
    return redirect("settings-relay")


@require_GET
async def events(request):
    """Server-sent events for Settings → Relay: each part of the page again when it changed.

    The first message carries every part; after that only changed parts are sent, as
    ``event: <part>``. A comment line every few seconds keeps proxies from closing the stream.
    """
    user = await request.auser()
    if not (user.is_authenticated and user.is_staff):
        return HttpResponseForbidden("log in as the owner")
    snapshot = sync_to_async(live.snapshot, thread_sensitive=True)

    async def stream():
        sent: dict[str, str] = {}
        loop = asyncio.get_running_loop()
        started = last_sent = loop.time()
        yield "retry: 2000\n\n"
        while loop.time() - started < STREAM_LIFETIME_SECONDS:
            changed = live.changes(sent, await snapshot())
            for name, text in changed:
                yield f"event: {name}\ndata: {text}\n\n"
            if changed:
                last_sent = loop.time()
            elif loop.time() - last_sent > STREAM_KEEPALIVE_SECONDS:
                last_sent = loop.time()
                yield ": still here\n\n"
            await asyncio.sleep(STREAM_POLL_SECONDS)

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: do not hold events back
    return response
