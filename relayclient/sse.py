"""A sans-IO ``text/event-stream`` parser (the WHATWG rules), fed chunk by chunk.

Each event is returned as soon as the blank line that ends it has been fed, whatever the chunk
boundaries; buffered text is bounded so that a stream without blank lines cannot grow memory.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from relayclient.errors import EVENT_TOO_LARGE, ClientError

MAX_EVENT_BYTES = 1 << 20


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched event: its type, data, the last event id, and a retry hint if sent."""

    event: str
    data: str
    id: str | None
    retry: int | None = None


class SSEParser:
    """Turns body chunks into SSEEvents; ``feed`` returns the events completed by a chunk."""

    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self.max_event_bytes = max_event_bytes
        self.last_event_id: str | None = None  # of the last event dispatched (for resuming)
        self._id_buffer: str | None = None  # set by `id:` lines, committed on dispatch
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""  # text not yet ended by a line break
        self._skip_lf = False  # the last chunk ended with CR: a leading LF belongs to it
        self._first = True
        self._event_type = ""
        self._data: list[str] = []
        self._size = 0
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Parse the next chunk of the body."""
        text = self._decoder.decode(chunk)
        if self._first and text:
            self._first = False
            text = text.removeprefix("\ufeff")
        if self._skip_lf and text:
            self._skip_lf = False
            text = text.removeprefix("\n")
        events: list[SSEEvent] = []
        buffer = self._pending + text
        start = 0
        length = len(buffer)
        while True:
            cr = buffer.find("\r", start)
            lf = buffer.find("\n", start)
            if cr < 0 and lf < 0:
                break
            end = lf if cr < 0 else cr if lf < 0 else min(cr, lf)
            line = buffer[start:end]
            if buffer[end] == "\r":
                if end + 1 < length:
                    start = end + 2 if buffer[end + 1] == "\n" else end + 1
                else:
                    start = end + 1
                    self._skip_lf = True
            else:
                start = end + 1
            event = self._line(line)
            if event is not None:
                events.append(event)
        self._pending = buffer[start:]
        if len(self._pending) + self._size > self.max_event_bytes:
            raise ClientError(
                EVENT_TOO_LARGE, f"an event is larger than {self.max_event_bytes} bytes"
            )
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment, often a keep-alive
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event_type = value
        elif name == "data":
            self._data.append(value)
            self._size += len(value) + 1
            if self._size > self.max_event_bytes:
                raise ClientError(
                    EVENT_TOO_LARGE, f"an event is larger than {self.max_event_bytes} bytes"
                )
        elif name == "id":
            if "\0" not in value:
                self._id_buffer = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> SSEEvent | None:
        self.last_event_id = self._id_buffer
        data, event_type, retry = self._data, self._event_type, self._retry
        self._data, self._event_type, self._size, self._retry = [], "", 0, None
        if not data:
            return None  # the spec dispatches nothing for an event without data lines
        return SSEEvent(event_type or "message", "\n".join(data), self.last_event_id, retry)
