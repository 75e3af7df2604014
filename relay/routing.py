"""WebSocket routes: relay sockets for phones and instances, page sockets for browsers."""

# Opened by phones and instance connectors (no Origin header).
websocket_urlpatterns: list = []

# Opened by the Settings → Relay page in a browser (checked against ALLOWED_HOSTS).
browser_websocket_urlpatterns: list = []
