"""Test-only ASGI app: the project plus a group broadcast consumer for cross-worker checks."""

from __future__ import annotations

import json
import os

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path

from relayproject.asgi import application as project_application  # sets up Django first
from relayproject.routing import websocket_urlpatterns


class BroadcastConsumer(AsyncWebsocketConsumer):
    """Every text a client sends reaches every client in the same room, on any worker."""

    async def connect(self):
        self.group = f"echo-{self.scope['url_route']['kwargs']['room']}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        await self.channel_layer.group_send(
            self.group, {"type": "echo.message", "text": text_data, "from_pid": os.getpid()}
        )

    async def echo_message(self, event):
        await self.send(
            json.dumps(
                {"text": event["text"], "from_pid": event["from_pid"], "to_pid": os.getpid()}
            )
        )


application = ProtocolTypeRouter(
    {
        "http": project_application,
        "websocket": URLRouter(
            [path("test/echo/<str:room>", BroadcastConsumer.as_asgi()), *websocket_urlpatterns()]
        ),
    }
)
