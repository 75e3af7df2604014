"""The hub's inbox holds at most its capacity of frames from other workers: a frame beyond it
resets its channel with RELAY_OVERLOADED at both ends, once, counted; a frame that arrives out
of sequence (one before it lost between workers) resets its channel too.

The hub is driven directly, with a channel layer that hands it prepared messages and a socket
that takes what it is given but does not hand it on yet (a busy socket), so the inbox's
contents are exactly what the test put there.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client import REGISTRY

from relay import messages
from relay.hub import Hub
from relay.presence import Address
from relay.sockets.base import ChannelEnd, RelaySocket
from relayproto.control import decode_control
from relayproto.frames import ErrorCode, FrameType, decode_frame, encode_frame

CAPACITY = 1 << 20
FRAME = 400 * 1024
ORIGIN = Address(inbox="other-inbox", socket="phone", worker="worker-a")


class Layer:
    """A channel layer whose inbox yields the test's messages and which records sends."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue = asyncio.Queue()
        self.sent: list[tuple[str, dict]] = []

    async def receive(self, channel: str) -> dict:
        return await self.incoming.get()

    async def send(self, channel: str, message: dict) -> None:
        self.sent.append((channel, message))


class BusySocket:
    """Takes queued messages and keeps them (it is busy); records frames written to it."""

    def __init__(self, *cids: int) -> None:
        self.socket_id = "home"
        self.channels = {
            cid: ChannelEnd(peer=ORIGIN, window=4 << 20, opened_at=time.monotonic()) for cid in cids
        }
        self.queued: list[dict] = []
        self.written: list[bytes] = []

    def enqueue_remote(self, message: dict, size: int) -> None:
        self.queued.append(message)

    def channel_closed(self, cid: int, end: ChannelEnd) -> None:
        pass

    async def send_frame_quietly(self, data: bytes) -> None:
        self.written.append(data)


def resets(reason: str) -> float:
    """relay_inbox_resets_total for ``reason`` so far."""
    return REGISTRY.get_sample_value("relay_inbox_resets_total", {"reason": reason}) or 0.0


def frame_message(cid: int, seq: int) -> dict:
    data = encode_frame(FrameType.DATA, cid, bytes(FRAME))
    message = messages.frame(cid, data, ORIGIN, seq)
    message["to"] = "home"
    return message


@pytest.fixture
async def hub(settings):
    settings.PULSE_RELAY_INBOX_CAPACITY = CAPACITY
    hub = Hub(asyncio.get_running_loop())
    hub.layer = Layer()
    hub.inbox = "this-inbox"
    reader = asyncio.get_running_loop().create_task(hub._read_inbox())
    yield hub
    reader.cancel()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def feed(hub: Hub, *batch: dict) -> None:
    for message in batch:
        hub.layer.incoming.put_nowait(message)
    for _ in range(10 * len(batch)):
        if hub.layer.incoming.empty():
            break
        await asyncio.sleep(0)
    await settle()


async def test_a_frame_beyond_the_capacity_resets_its_channel_at_both_ends(hub):
    socket = BusySocket(7, 8)
    hub.sockets[socket.socket_id] = socket
    before = resets("full")
    await feed(hub, frame_message(7, 1), frame_message(7, 2))
    assert len(socket.queued) == 2 and hub.inbox_bytes == 2 * (FRAME + 12)

    await feed(hub, frame_message(8, 1))  # a third would pass 1 MiB
    assert resets("full") == before + 1
    assert 8 not in socket.channels and 7 in socket.channels
    assert len(socket.queued) == 2 and hub.inbox_bytes <= CAPACITY
    # The sender's end is told through the layer, this worker's end with CLOSE.
    (channel, gone) = hub.layer.sent[-1]
    assert channel == ORIGIN.inbox and gone["type"] == messages.GONE
    assert gone["cid"] == 8 and gone["code"] == ErrorCode.RELAY_OVERLOADED
    close = decode_frame(socket.written[-1])
    assert close.type is FrameType.CLOSE and close.channel_id == 8
    assert decode_control(close).code == ErrorCode.RELAY_OVERLOADED

    # Later frames of the reset channel go with it, without a second reset.
    await feed(hub, frame_message(8, 2))
    assert resets("full") == before + 1 and len(hub.layer.sent) == 1


async def test_control_messages_are_kept_however_full_the_inbox_is(hub):
    socket = BusySocket(7)
    hub.sockets[socket.socket_id] = socket
    await feed(hub, frame_message(7, 1), frame_message(7, 2))
    gone = messages.gone(7, "NORMAL", "done")
    gone["to"] = "home"
    await feed(hub, gone)
    assert socket.queued[-1] is gone  # dropping it would leave the channel half open


async def test_a_frame_out_of_sequence_resets_its_channel_as_lost(hub):
    socket = RelaySocket.__new__(RelaySocket)  # only the state handle_remote reads
    socket.socket_id, socket.closed, socket.hub, socket.stalled_since = "home", False, hub, None
    socket.channels = {9: ChannelEnd(peer=ORIGIN, window=4 << 20, opened_at=time.monotonic())}
    written: list[bytes] = []

    async def send_frame(data: bytes) -> None:
        written.append(data)

    socket.send_frame = send_frame
    hub.sockets["home"] = socket
    before = resets("lost")
    await socket.handle_remote(frame_message(9, 1))
    assert len(written) == 1 and socket.channels[9].recv_seq == 1
    await socket.handle_remote(frame_message(9, 3))  # frame 2 never came
    await settle()
    assert resets("lost") == before + 1 and 9 not in socket.channels
    assert decode_control(decode_frame(written[-1])).code == ErrorCode.RELAY_OVERLOADED
    assert hub.layer.sent[-1][1]["code"] == ErrorCode.RELAY_OVERLOADED
