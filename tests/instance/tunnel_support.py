"""A phone and an instance over back-to-back channels, the instance answering via a Tunnel."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import AsyncIterator

from instance.tunnel import Tunnel, TunnelDevice
from relayproto import handshake
from relayproto.e2e import initiate, respond
from relayproto.inner import StreamKind
from relayproto.session import ChannelSession, Stream
from relayproto.streams import ResponseReceived, Role
from tests.relayproto.session_support import linked_channels

INSTANCE = "home-1"
DEVICE = TunnelDevice(device_id="42", name="Ana's phone ✓")


@contextlib.asynccontextmanager
async def tunnel_phone(
    tunnel: Tunnel, device: TunnelDevice = DEVICE, *, window: int = 4 << 20
) -> AsyncIterator[ChannelSession]:
    """The phone's ChannelSession of an established channel whose streams ``tunnel`` serves."""
    app_outer, instance_outer = linked_channels(window=window)
    for outer in (app_outer, instance_outer):
        # The loopback keeps every frame it sends; keep only a few so big transfers stay small.
        outer.connection.sent_frames = deque(maxlen=4)
    instance_static = handshake.generate_static_key()
    phone_static = handshake.generate_static_key()
    psk = handshake.generate_psk()

    async def choose(message1):
        return psk, handshake.Message2Payload.device()

    phone_side, instance_side = await asyncio.gather(
        initiate(
            app_outer,
            instance_id=INSTANCE,
            static_private=phone_static,
            instance_public=handshake.public_key(instance_static),
            psk=psk,
            payload=handshake.Message1Payload.device(),
            timeout=3,
        ),
        respond(
            instance_outer,
            instance_id=INSTANCE,
            static_private=instance_static,
            choose=choose,
            timeout=3,
        ),
    )

    async def on_stream(stream: Stream) -> None:
        await tunnel.serve(stream, device)

    phone = ChannelSession(app_outer, phone_side.secure, Role.CLIENT)
    instance = ChannelSession(
        instance_outer, instance_side.secure, Role.SERVER, on_stream=on_stream
    )
    await asyncio.gather(phone.start(), instance.start())
    try:
        yield phone
    finally:
        await phone.close()
        await instance.close()
        await tunnel.aclose()


async def fetch(
    phone: ChannelSession,
    method: str,
    path: str,
    headers: list[tuple[str, str]] | tuple = (),
    body: bytes | None = None,
    *,
    kind: StreamKind = StreamKind.HTTP,
    timeout: float = 10,
) -> tuple[ResponseReceived, bytes]:
    """One whole request through the tunnel: (response head, body)."""

    async def run() -> tuple[ResponseReceived, bytes]:
        stream = await phone.open_stream(kind, method, path, headers, end=body is None)
        if body is not None:
            await stream.write(body)
            await stream.end()
        head = await stream.response_head()
        return head, await stream.read_all()

    return await asyncio.wait_for(run(), timeout)


def json_body(data: bytes) -> dict:
    """Decode a JSON response body."""
    return json.loads(data.decode("utf-8"))


def header(head: ResponseReceived, name: str) -> str | None:
    """The first value of a response header."""
    return next((value for key, value in head.headers if key == name), None)
