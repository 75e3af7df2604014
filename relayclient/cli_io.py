"""Streaming local input and output for the command line without blocking the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

CHUNK = 64 * 1024
_EOF = b""


async def thread_reader(
    source: BinaryIO, *, lines: bool = False, chunk_size: int = CHUNK
) -> AsyncIterator[bytes]:
    """Chunks (or lines) of a blocking stream such as stdin, read on a daemon thread.

    A daemon thread of our own rather than the default executor: a read blocked on a terminal
    must not keep the process alive once the call is over. The queue is small so that a fast
    source waits for the network instead of piling up in memory.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | BaseException] = asyncio.Queue(maxsize=4)

    def hand_over(item: bytes | BaseException) -> bool:
        try:
            asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()
        except (RuntimeError, asyncio.CancelledError, ConnectionError):
            return False  # the loop is gone: nobody is listening any more
        return True

    def pump() -> None:
        try:
            while True:
                data = source.readline() if lines else source.read1(chunk_size)  # type: ignore[attr-defined]
                if not hand_over(data) or not data:
                    return
        except (OSError, ValueError) as exc:
            hand_over(exc)

    threading.Thread(target=pump, name="relayclient-input", daemon=True).start()
    while True:
        item = await queue.get()
        if isinstance(item, BaseException):
            raise item
        if item == _EOF:
            return
        yield item


def _open_for_reading(path: Path) -> BinaryIO:
    return path.open("rb")


async def file_chunks(path: Path, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
    """A file's contents in chunks, read off the event loop."""
    handle = await asyncio.to_thread(_open_for_reading, path)
    try:
        while chunk := await asyncio.to_thread(handle.read, chunk_size):
            yield chunk
    finally:
        handle.close()


class OutputFile:
    """Write a download to ``FILE.part`` and rename it into place only once it is complete."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".part")
        self.handle: BinaryIO = self.partial.open("wb")

    def write(self, data: bytes) -> None:
        """Append a chunk."""
        self.handle.write(data)

    def commit(self) -> None:
        """The body is complete: move it into place."""
        self.handle.close()
        os.replace(self.partial, self.path)

    def discard(self) -> None:
        """The body is incomplete: remove the partial file."""
        self.handle.close()
        with contextlib.suppress(OSError):
            self.partial.unlink()
