"""WebSocket routes: relay sockets for phones and instances, page sockets for browsers."""

from channels.auth import AuthMiddlewareStack
from django.urls import path

from relay.consumers import AppSocket, InstanceSocket
from relay.monitor_consumers import MonitorFeed

# Opened by phones and instance connectors (no Origin header).
websocket_urlpatterns: list = [
    path("ws/instance", InstanceSocket.as_asgi()),
    path("ws/app", AppSocket.as_asgi()),
]

# Opened by the Settings → Relay page in a browser (checked against ALLOWED_HOSTS).
browser_websocket_urlpatterns: list = [
    # The owner's session (cookies) or a paired device through the tunnel (relay.tunnel_auth).
    path("ws/monitor", AuthMiddlewareStack(MonitorFeed.as_asgi())),
]
