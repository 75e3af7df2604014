"""ASGI entry point: Django for HTTP, Channels for WebSockets of the configured roles."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relayproject.settings")
if os.environ.get("PULSE_MALLOC_TUNING", "true").lower() not in ("0", "false", "no", "off"):
    from relayproject.malloc_tuning import tune

    tune()
# Django must be set up before anything imports models or consumers.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from relayproject.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {"http": django_asgi_app, "websocket": URLRouter(websocket_urlpatterns())}
)
