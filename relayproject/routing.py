"""WebSocket routes of the roles this process plays (PULSE_ROLES)."""

from __future__ import annotations

import copy

from channels.security.websocket import AllowedHostsOriginValidator
from django.conf import settings


def websocket_urlpatterns() -> list:
    """Collect the WebSocket routes of each enabled role.

    Relay sockets serve phones and instances, which send no Origin header, so they are not
    behind the Origin check; routes that browsers open are wrapped in
    ``AllowedHostsOriginValidator`` one by one.
    """
    routes: list = []
    if "relay" in settings.PULSE_ROLES:
        from relay.routing import websocket_urlpatterns as relay_routes

        routes.extend(relay_routes)
    if "instance" in settings.PULSE_ROLES:
        from instance.routing import browser_websocket_urlpatterns

        for route in browser_websocket_urlpatterns:
            guarded = copy.copy(route)
            guarded.callback = AllowedHostsOriginValidator(route.callback)
            routes.append(guarded)
    return routes
