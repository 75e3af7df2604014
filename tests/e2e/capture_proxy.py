"""A TCP proxy in front of the relay that inspects every byte crossing it, both ways.

It stands in for a packet capture of the relay's port: the tests assert that what the
upstream returned never appears in what the relay sent or received.
"""

from __future__ import annotations

import asyncio
import contextlib


class CaptureProxy:
    """Forwards 127.0.0.1:port to a target port and looks for ``needle`` in the traffic."""

    def __init__(self, needle: bytes, target_port: int) -> None:
        self.needle = needle
        self.target_port = target_port
        self.bytes_seen = 0
        self.found = False
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task] = set()

    async def start(self) -> None:
        """Listen on a free port."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tail = b""
        try:
            while chunk := await reader.read(256 * 1024):
                window = tail + chunk
                if self.needle in window:
                    self.found = True
                tail = window[-len(self.needle) :]
                self.bytes_seen += len(chunk)
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._handlers.add(asyncio.current_task())
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
        self._writers -= {writer, up_writer}

    def cut_all(self) -> None:
        """Drop every proxied connection (the relay behind it went away)."""
        for writer in list(self._writers):
            writer.close()

    async def close(self) -> None:
        """Stop listening, drop connections and wait for their tasks."""
        self.cut_all()
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
