"""The Settings → Relay page (login required): a summary and API token management."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from instance import relay_settings, relayenc, tokens
from instance import status as connector_status
from instance.api.authentication import client_ip
from instance.models import ApiToken


def _context(request, **extra) -> dict:
    try:
        current = relay_settings.current()
        problem = ""
    except relayenc.RelayEncError as exc:
        current, problem = None, str(exc)
    return {
        "settings": current,
        "settings_problem": problem,
        "status": connector_status.read(),
        "tokens": ApiToken.objects.all()[:200],
        "scopes": tokens.SCOPES,
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
