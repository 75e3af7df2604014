"""A test-only WebSocket echo consumer and the router the WebSocket tunnel tests use."""

from __future__ import annotations

import json

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from instance.tunnel.auth import device_from_scope

disconnect_codes: list[int] = []


class EchoConsumer(AsyncWebsocketConsumer):
    """Echoes messages; ``headers`` answers the scope's headers, ``close:<code>`` closes."""

    async def connect(self) -> None:
        subprotocols = self.scope.get("subprotocols") or []
        await self.accept(subprotocol=subprotocols[0] if subprotocols else None)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if text_data == "headers":
            device = device_from_scope(self.scope)
            headers = {k.decode(): v.decode() for k, v in self.scope["headers"]}
            await self.send(text_data=json.dumps({"headers": headers, "device": device.name}))
        elif text_data is not None and text_data.startswith("close:"):
            await self.close(code=int(text_data[6:]), reason="asked to close")
        elif text_data is not None:
            await self.send(text_data=text_data)
        else:
            await self.send(bytes_data=bytes_data)

    async def disconnect(self, code: int) -> None:
        disconnect_codes.append(code)


class RefusingConsumer(AsyncWebsocketConsumer):
    """Closes before accepting."""

    async def connect(self) -> None:
        await self.close()


application = AllowedHostsOriginValidator(
    URLRouter(
        [
            path("ws/echo", EchoConsumer.as_asgi()),
            path("ws/refuse", RefusingConsumer.as_asgi()),
        ]
    )
)
