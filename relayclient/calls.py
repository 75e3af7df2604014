"""The objects one call returns: a streamed HTTP Response, an EventStream, a WebSocket.

Each owns its channel and closes it when the call is over (body read to its end, stream
left, WebSocket closed), so a caller that finishes reading never leaks a channel.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable

from relayclient import errors
from relayclient.channel import Channel
from relayclient.errors import ClientError
from relayclient.sse import SSEEvent, SSEParser
from relayproto.errors import ProtocolError
from relayproto.inner import ResetCode
from relayproto.session import Stream
from relayproto.stream_events import StreamReset

Body = bytes | bytearray | memoryview | AsyncIterable[bytes] | None
ERROR_BODY_LIMIT = 64 * 1024


class Response:
    """An HTTP response whose body is read as it arrives; closes its channel when done."""

    def __init__(self, channel: Channel, stream: Stream, uploader: asyncio.Task | None) -> None:
        head = stream.response
        assert head is not None
        self.status: int = head.status
        self.headers: list[tuple[str, str]] = list(head.headers)
        self._channel = channel
        self._stream = stream
        self._uploader = uploader
        self._closed = False

    def header(self, name: str) -> str | None:
        """The first value of a header (names are case-insensitive), or None."""
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)

    @property
    def trailers(self) -> list[tuple[str, str]]:
        """Trailing headers, once the body has been read to its end."""
        return list(self._stream.trailers or ())

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """The body, chunk by chunk as it arrives; the channel closes at its end."""
        try:
            while chunk := await self._stream.read():
                yield chunk
        except (ProtocolError, ConnectionError) as exc:
            upload_error = self._upload_error()
            await self.aclose()
            if upload_error is not None:
                raise upload_error from exc
            raise self._channel.failure(exc, self._stream) from exc
        await self.aclose()

    def _upload_error(self) -> BaseException | None:
        """The caller's own body source failure, which reset the stream, if that happened."""
        task = self._uploader
        if task is None or not task.done() or task.cancelled():
            return None
        failure = task.exception()
        return None if isinstance(failure, ProtocolError | ConnectionError) else failure

    async def read(self, limit: int | None = None) -> bytes:
        """The whole body (for small bodies; ClientError if over ``limit`` bytes)."""
        parts: list[bytes] = []
        size = 0
        async for chunk in self.iter_bytes():
            size += len(chunk)
            if limit is not None and size > limit:
                await self.aclose()
                raise ClientError(errors.BODY_TOO_LARGE, f"the body is over {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    async def aclose(self) -> None:
        """Stop the upload if still running and close the channel."""
        if self._closed:
            return
        self._closed = True
        if self._uploader is not None and not self._uploader.done():
            self._uploader.cancel()
            with contextlib.suppress(BaseException):
                await self._uploader
        if not self._stream.ended:
            await self._stream.reset(ResetCode.CANCELLED, "the client stopped reading")
        await self._channel.close()

    async def __aenter__(self) -> Response:
        """Use as ``async with await client.request(...) as response``."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close the channel."""
        await self.aclose()


# Reopens an event stream with a Last-Event-ID (None: from the start): a new channel and stream.
Reopen = Callable[[str | None], Awaitable[tuple[Channel, Stream]]]
RESUME_ATTEMPTS = 5
DEFAULT_RETRY_SECONDS = 1.0  # until the stream sets its own with a `retry:` field
MAX_RETRY_SECONDS = 30.0


class EventStream:
    """Server-sent events, delivered one by one as each event's blank line arrives. When the
    channel dies under it (a relay worker stopped, the network dropped), it opens the stream
    again with ``Last-Event-ID``, as a browser's EventSource does, up to RESUME_ATTEMPTS times
    in a row; ``resumed`` counts how often it did."""

    def __init__(self, channel: Channel, stream: Stream, reopen: Reopen | None = None) -> None:
        self._channel = channel
        self._stream = stream
        self._parser = SSEParser()
        self._ready: list[SSEEvent] = []
        self._reopen = reopen
        self._retry_seconds = DEFAULT_RETRY_SECONDS
        self._losses = 0  # losses in a row with no event between them
        self.resumed = 0
        self.status = stream.response.status if stream.response else 0

    @property
    def last_event_id(self) -> str | None:
        """The id of the last event that set one (for reconnecting with Last-Event-ID)."""
        return self._parser.last_event_id

    def __aiter__(self) -> EventStream:
        """Iterate over the events."""
        return self

    async def __anext__(self) -> SSEEvent:
        """The next event; StopAsyncIteration when the instance ends the stream."""
        while not self._ready:
            try:
                chunk = await self._stream.read()
            except (ProtocolError, ConnectionError) as exc:
                failure = self._channel.failure(exc, self._stream)
                await self.aclose()
                if self._reopen is None or failure.code not in errors.CHANNEL_DIED:
                    raise failure from exc
                await self._resume(failure)
                continue
            if not chunk:
                await self.aclose()
                raise StopAsyncIteration
            try:
                events = self._parser.feed(chunk)
            except ClientError:
                await self.aclose()
                raise
            for event in events:
                if event.retry is not None:
                    self._retry_seconds = min(event.retry / 1000, MAX_RETRY_SECONDS)
            if events:
                self._losses = 0
            self._ready.extend(events)
        return self._ready.pop(0)

    async def _resume(self, lost: ClientError) -> None:
        """Open the stream again from the last event id; raise after RESUME_ATTEMPTS losses
        or failed reopenings in a row with no event between them."""
        assert self._reopen is not None
        last_id = self._parser.last_event_id
        failure = lost
        while self._losses < RESUME_ATTEMPTS:
            delay = min(self._retry_seconds * 2**self._losses, MAX_RETRY_SECONDS)
            self._losses += 1
            await asyncio.sleep(delay)
            try:
                self._channel, self._stream = await self._reopen(last_id)
            except ClientError as exc:
                if exc.code not in errors.CHANNEL_DIED | {errors.INSTANCE_OFFLINE}:
                    raise
                failure = exc
                continue
            # An event cut off by the loss is dropped, as the SSE rules say; the id carries on.
            self._parser = SSEParser(self._parser.max_event_bytes)
            self._parser.last_event_id = self._parser._id_buffer = last_id
            self.resumed += 1
            return
        raise ClientError(
            failure.code,
            f"{failure.message} (the event stream was lost and {RESUME_ATTEMPTS} attempts in a "
            f"row to resume it with Last-Event-ID {last_id!r} failed)",
        )

    async def aclose(self) -> None:
        """Stop listening and close the channel."""
        if not self._stream.ended:
            await self._stream.reset(ResetCode.CANCELLED, "the client stopped listening")
        await self._channel.close()

    async def __aenter__(self) -> EventStream:
        """Use as ``async with await client.sse(...) as events``."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close the channel."""
        await self.aclose()


class WebSocket:
    """A WebSocket tunnelled to the instance: send, receive, close."""

    def __init__(self, channel: Channel, stream: Stream) -> None:
        self._channel = channel
        self._stream = stream
        self.headers: list[tuple[str, str]] = list(
            stream.response.headers if stream.response else ()
        )
        self._close_sent = False

    @property
    def close_code(self) -> int | None:
        """The peer's close code, once it closed."""
        return self._stream.ws_close.code if self._stream.ws_close else None

    @property
    def close_reason(self) -> str | None:
        """The peer's close reason, once it closed."""
        return self._stream.ws_close.reason if self._stream.ws_close else None

    async def send(self, message: str | bytes) -> None:
        """Send one message: str as text, bytes as binary."""
        try:
            await self._stream.send_ws(message)
        except (ProtocolError, ConnectionError) as exc:
            raise self._channel.failure(exc, self._stream) from exc

    async def receive(self) -> str | bytes | None:
        """The next message, or None once the instance closed the WebSocket."""
        try:
            return await self._stream.receive_ws()
        except (ProtocolError, ConnectionError) as exc:
            raise self._channel.failure(exc, self._stream) from exc

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        """Iterate over received messages until the instance closes."""
        return self._messages()

    async def _messages(self) -> AsyncIterator[str | bytes]:
        while (message := await self.receive()) is not None:
            yield message

    async def shutdown(self, code: int = 1000, reason: str = "") -> None:
        """Send our close frame; messages keep arriving until the instance closes too."""
        if self._close_sent or self._channel.session.closed.is_set():
            return
        self._close_sent = True
        try:
            await self._stream.close_ws(code, reason)
        except (ProtocolError, ConnectionError) as exc:
            raise self._channel.failure(exc, self._stream) from exc

    async def close(self, code: int = 1000, reason: str = "", *, timeout: float = 5.0) -> None:
        """Send our close, wait briefly for the instance's, then close the channel."""
        with contextlib.suppress(ClientError, ProtocolError, ConnectionError, TimeoutError):
            await self.shutdown(code, reason)
            async with asyncio.timeout(timeout):
                while await self._stream.receive_ws() is not None:
                    pass  # messages still in flight after our close are dropped
        await self._channel.close()

    async def __aenter__(self) -> WebSocket:
        """Use as ``async with await client.websocket(...) as ws``."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close the WebSocket and its channel."""
        await self.close()


async def upload(stream: Stream, body: Body) -> None:
    """Stream the request body, then end our direction; reset the stream on failure."""
    try:
        if isinstance(body, bytes | bytearray | memoryview):
            await stream.write(body)
        else:
            async for chunk in body:  # type: ignore[union-attr]
                if chunk:
                    await stream.write(chunk)
        await stream.end()
    except asyncio.CancelledError:
        raise
    except (ProtocolError, ConnectionError):
        raise  # the channel failed: the response side reports why
    except BaseException:
        await stream.reset(ResetCode.CANCELLED, "the request body failed")
        # A local reset queues nothing for our own reader: wake it so the response ends too.
        stream._put(StreamReset(stream.id, ResetCode.CANCELLED, "the request body failed", False))
        raise


async def response_head(stream: Stream, uploader: asyncio.Task | None) -> None:
    """Wait for the head; a body source that fails first ends the wait with its error."""
    head = asyncio.ensure_future(stream.response_head())
    try:
        if uploader is not None:
            await asyncio.wait({head, uploader}, return_when=asyncio.FIRST_COMPLETED)
            if uploader.done() and not uploader.cancelled():
                failure = uploader.exception()
                # Stream errors in the upload show up on the head too; report the caller's own.
                if failure is not None and not isinstance(failure, ProtocolError | ConnectionError):
                    raise failure
        await head
    finally:
        if not head.done():
            head.cancel()
        elif not head.cancelled():
            head.exception()  # mark it retrieved: the caller got the error that mattered


async def error_body(stream: Stream) -> str:
    """A short excerpt of an error body, for messages."""
    with contextlib.suppress(ProtocolError, ConnectionError):
        body = await stream.read_all(limit=ERROR_BODY_LIMIT)
        text = body.decode("utf-8", "replace").strip()
        if text:
            return f": {text[:200]}"
    return ""
