"""The monitoring feed over WebSocket (/ws/monitor): a sample per second as JSON."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from instance.monitor import sampling
from instance.monitor.views import is_owner, parse_stream_query
from instance.tunnel.auth import device_from_scope


class MonitorFeed(AsyncJsonWebsocketConsumer):
    """Pushes ``{"type": "sample", "sample": {...}}`` every ``?interval=`` seconds (default 1).

    Open to the owner's session (the route is wrapped in AuthMiddlewareStack) and to paired
    devices through the tunnel; anyone else is refused before the handshake completes (403).
    """

    _feeder: asyncio.Task | None = None

    async def connect(self) -> None:
        """Check who is asking, then start the feed."""
        if device_from_scope(self.scope) is None and not is_owner(self.scope.get("user")):
            await self.close()
            return
        raw_query = self.scope.get("query_string", b"").decode("latin-1")
        query = {name: values[-1] for name, values in parse_qs(raw_query).items()}
        try:
            interval, count = parse_stream_query(query)
        except ValueError:
            await self.close()
            return
        await self.accept()
        self._feeder = asyncio.get_running_loop().create_task(self._feed(interval, count))

    async def _feed(self, interval: float, count: int | None) -> None:
        sent = 0
        while count is None or sent < count:
            if sent:
                await asyncio.sleep(interval)
            await self.send_json({"type": "sample", "sample": sampling.sample()})
            sent += 1
        await self.close(1000)

    async def receive_json(self, content, **kwargs) -> None:
        """The feed takes no commands; messages are ignored."""

    async def disconnect(self, code: int) -> None:
        """Stop the feed."""
        if self._feeder is not None:
            self._feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._feeder
