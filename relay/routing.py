"""WebSocket routes of the relay role, opened by phones and instance connectors."""

from django.urls import path

from relay.sockets import AppSocket, InstanceSocket

# No Origin header comes with these: they are not behind the browser Origin check.
websocket_urlpatterns: list = [
    path("ws/instance", InstanceSocket.as_asgi()),
    path("ws/app", AppSocket.as_asgi()),
]
