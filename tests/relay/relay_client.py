"""Frame-level test clients for relay sockets, over WebsocketCommunicator or real sockets."""

from __future__ import annotations

import asyncio

from channels.testing import WebsocketCommunicator

from relayproto.control import Connect, Register, decode_control, encode_control
from relayproto.frames import Frame, FrameType, decode_frame, encode_frame


class FrameClient:
    """Speaks outer frames to ``/ws/instance`` or ``/ws/app`` of an ASGI app in process."""

    def __init__(self, application, path: str, client_ip: str = "198.51.100.7") -> None:
        self.communicator = WebsocketCommunicator(application, path)
        self.communicator.scope["client"] = (client_ip, 40000)
        self.close_code: int | None = None

    async def connect(self) -> None:
        """Open the socket; fail the test if it is not accepted."""
        connected, _ = await self.communicator.connect()
        assert connected

    async def send(self, data: bytes) -> None:
        """Send one raw binary message."""
        await self.communicator.send_to(bytes_data=data)

    async def recv(self, timeout: float = 3.0) -> Frame:
        """Receive one frame, answering relay PINGs as endpoints must; fail if the socket
        closes instead."""
        while True:
            message = await self.communicator.receive_output(timeout)
            if message["type"] == "websocket.close":
                self.close_code = message.get("code")
                raise ConnectionError(f"socket closed with {self.close_code}")
            frame = decode_frame(message["bytes"])
            if frame.type is not FrameType.PING:
                return frame
            await self.send(encode_frame(FrameType.PONG, 0, bytes(frame.payload)))

    async def recv_control(self, timeout: float = 3.0):
        """Receive a frame and decode its control payload: (frame, message)."""
        frame = await self.recv(timeout)
        return frame, decode_control(frame)

    async def expect_closed(self, timeout: float = 3.0) -> int | None:
        """Read until the relay closes the socket; return the close code."""
        while True:
            message = await self.communicator.receive_output(timeout)
            if message["type"] == "websocket.close":
                self.close_code = message.get("code")
                return self.close_code

    async def nothing_more(self, timeout: float = 0.3) -> bool:
        """True when nothing arrives within ``timeout`` (without cancelling the consumer)."""
        return await self.communicator.receive_nothing(timeout)

    async def close(self) -> None:
        """Disconnect from the client side."""
        await self.communicator.disconnect()


async def registered_instance(application, token: str, **kwargs) -> tuple[FrameClient, object]:
    """An instance socket that has registered with ``token``; returns (client, REGISTER_ACK)."""
    instance = FrameClient(application, "/ws/instance", **kwargs)
    await instance.connect()
    await instance.send(encode_control(Register(licence=token, client="tests/1")))
    _, ack = await instance.recv_control()
    return instance, ack


async def open_channel(app: FrameClient, instance: FrameClient, instance_id: str, ref: int = 1):
    """CONNECT from the app; returns the channel id both ends were told."""
    await app.send(encode_control(Connect(ref=ref, instance_id=instance_id)))
    ack_frame, ack = await app.recv_control()
    assert ack_frame.type is FrameType.CONNECT_ACK, ack
    open_frame, _ = await instance.recv_control()
    assert open_frame.type is FrameType.OPEN
    assert open_frame.channel_id == ack_frame.channel_id
    return ack_frame.channel_id


def data_frame(channel_id: int, payload: bytes) -> bytes:
    """A DATA frame carrying opaque bytes."""
    return encode_frame(FrameType.DATA, channel_id, payload)


class SocketClient:
    """Speaks outer frames to a real relay worker over a real WebSocket."""

    def __init__(self, websocket) -> None:
        self.ws = websocket

    @classmethod
    async def open(cls, url: str, max_queue: int = 16) -> SocketClient:
        """Connect to ``url`` (ws://host:port/ws/app or /ws/instance); ``max_queue``: frames the
        library reads ahead of ``recv`` before it stops reading the socket."""
        import websockets

        return cls(
            await websockets.connect(url, max_size=4 << 20, ping_interval=None, max_queue=max_queue)
        )

    async def send(self, data: bytes) -> None:
        """Send one frame."""
        await self.ws.send(data)

    async def recv(self, timeout: float = 10.0) -> Frame:
        """The next frame that is not a relay PING (which is answered)."""
        while True:
            data = await asyncio.wait_for(self.ws.recv(), timeout)
            frame = decode_frame(data)
            if frame.type is FrameType.PING:
                await self.ws.send(encode_frame(FrameType.PONG, 0, bytes(frame.payload)))
                continue
            return frame

    async def recv_control(self, timeout: float = 10.0):
        """(frame, decoded control payload) of the next frame."""
        frame = await self.recv(timeout)
        return frame, decode_control(frame)

    async def close(self) -> None:
        """Close the socket."""
        await self.ws.close()


async def register_over_socket(
    url: str, token: str, max_queue: int = 16
) -> tuple[SocketClient, object]:
    """A real instance socket registered with ``token``."""
    client = await SocketClient.open(url, max_queue)
    await client.send(encode_control(Register(licence=token, client="tests/1")))
    _, ack = await client.recv_control()
    return client, ack
