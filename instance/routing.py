"""WebSocket routes of the instance role, opened by browsers (checked against ALLOWED_HOSTS)."""

from channels.auth import AuthMiddlewareStack
from django.urls import path

from instance.monitor.consumers import MonitorFeed

browser_websocket_urlpatterns: list = [
    # The owner's session (cookies) or a paired device through the tunnel (instance.tunnel.auth).
    path("ws/monitor", AuthMiddlewareStack(MonitorFeed.as_asgi())),
]
