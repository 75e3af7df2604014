"""The revocation poll closes only the channels it asked about: a device whose channel opened
while the query ran was active a moment ago and is never told it was revoked."""

from __future__ import annotations

import asyncio
import threading

from instance import devices
from instance.responder import CallingDevice, LiveChannel, Responder
from relayproto.inner import CloseCode


class SlowDirectory:
    """Every device is active; the query takes a while (a busy database thread)."""

    def __init__(self, revoked: set[int] = frozenset()) -> None:
        self.revoked = set(revoked)
        self.asking = threading.Event()
        self.release = threading.Event()

    def active_device_ids(self, device_ids: set[int]) -> set[int]:
        self.asking.set()
        self.release.wait(5)
        return {d for d in device_ids if d not in self.revoked}


class RecordingSession:
    """Stands in for a channel's session: remembers how it was closed."""

    def __init__(self) -> None:
        self.codes: list[CloseCode] = []

    async def close(self, code: CloseCode = CloseCode.NORMAL, message: str = "") -> None:
        self.codes.append(code)


def live(device_id: int) -> LiveChannel:
    return LiveChannel(
        CallingDevice(device_id, f"d{device_id}", f"f{device_id}"), RecordingSession()
    )


async def test_a_channel_opened_during_the_query_is_left_alone(monkeypatch):
    directory = SlowDirectory()
    monkeypatch.setattr(devices, "_directory", directory)
    responder = Responder("home-1", b"\0" * 32, None)
    first, newcomer = live(1), live(3)
    responder.live[1] = first
    check = asyncio.get_running_loop().create_task(responder.close_revoked())
    await asyncio.to_thread(directory.asking.wait, 5)
    responder.live[2] = newcomer  # its handshake finished while the query ran
    directory.release.set()
    assert await check == 0
    assert first.session.codes == [] and newcomer.session.codes == []


async def test_a_revoked_device_is_still_closed(monkeypatch):
    directory = SlowDirectory(revoked={1})
    directory.release.set()
    monkeypatch.setattr(devices, "_directory", directory)
    responder = Responder("home-1", b"\0" * 32, None)
    revoked, kept = live(1), live(2)
    responder.live.update({1: revoked, 2: kept})
    assert await responder.close_revoked() == 1
    assert revoked.session.codes == [CloseCode.DEVICE_REVOKED]
    assert kept.session.codes == []
