"""An instance with 1,000 paired devices tells the relay all their routing tokens, in as many
ROUTES frames as they need, the last one closing the list."""

from __future__ import annotations

import hashlib

from instance import devices
from instance.responder import Responder
from relayproto.connection import InstanceConnection
from relayproto.control import Routes, decode_control
from relayproto.frames import FrameType, decode_frame


class CapturingSocket:
    """Stands in for the relay WebSocket: keeps what is sent."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send(self, data) -> None:
        self.sent.append(bytes(data))


class ThousandDevices:
    """A directory with 1,000 active devices."""

    hashes = sorted(hashlib.sha256(n.to_bytes(4, "big")).hexdigest() for n in range(1000))

    def routing_hashes(self) -> list[str]:
        return list(self.hashes)


async def test_every_device_reaches_the_relay_list(monkeypatch):
    monkeypatch.setattr(devices, "_directory", ThousandDevices())
    socket = CapturingSocket()
    connection = InstanceConnection(socket, on_channel=None)
    responder = Responder("home-1", b"\0" * 32, None)
    responder.routes_sink = connection.send_routes
    await responder.sync_routes(force=True)
    frames = [decode_frame(data) for data in socket.sent]
    assert all(f.type is FrameType.ROUTES for f in frames) and len(frames) == 18
    messages = [decode_control(f) for f in frames]
    assert all(isinstance(m, Routes) for m in messages)
    assert [m.more for m in messages] == [True] * 17 + [None]
    assert sorted(h for m in messages for h in m.hashes) == ThousandDevices.hashes
    # Unchanged devices: nothing is sent again.
    await responder.sync_routes()
    assert len(socket.sent) == 18
