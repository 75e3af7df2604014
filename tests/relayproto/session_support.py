"""Two endpoints wired back to back without a relay, for session and handshake tests."""

from __future__ import annotations

from relayproto.connection import RelayConnection
from relayproto.frames import decode_frame


class LoopbackConnection(RelayConnection):
    """A RelayConnection whose frames go straight to a peer connection's channels."""

    def __init__(self) -> None:
        super().__init__(websocket=None)
        self.peer: LoopbackConnection | None = None
        self.frames_sent = 0  # a count, not the frames: tests push hundreds of MiB through

    async def send_frame(self, data: bytes | bytearray) -> None:
        """Deliver the frame to the peer as its reader would."""
        self.frames_sent += 1
        await self.peer._on_frame(decode_frame(bytes(data), max_payload=1 << 24))


def linked_channels(channel_id: int = 7, window: int = 4 << 20, max_frame: int = 1 << 20):
    """(app_side, instance_side) OuterChannels of one channel, connected back to back."""
    app, instance = LoopbackConnection(), LoopbackConnection()
    app.peer, instance.peer = instance, app
    return (
        app._new_channel(channel_id, window, max_frame),
        instance._new_channel(channel_id, window, max_frame),
    )
