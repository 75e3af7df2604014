"""The event-stream parser follows the WHATWG rules whatever the chunk boundaries."""

from __future__ import annotations

import pytest

from relayclient import ClientError
from relayclient.sse import SSEEvent, SSEParser

STREAM = (
    "\ufeff: comment\r\n"
    "event: update\r\n"
    "id: 1\r\n"
    "data: first line\r\n"
    "data:second line\r\n"
    "\r\n"
    "data: plain\n"
    "\n"
    "retry: 3000\r"
    "data: ünïcode\r"
    "\r"
    "id: 9\n"
    "event: only-id\n"
    "\n"
    "data\n"
    "\n"
).encode()

EXPECTED = [
    SSEEvent("update", "first line\nsecond line", "1"),
    SSEEvent("message", "plain", "1"),
    SSEEvent("message", "ünïcode", "1", retry=3000),
    SSEEvent("message", "", "9"),
]


def parse_in(chunks) -> list[SSEEvent]:
    """Feed the chunks to one parser and collect every event."""
    parser = SSEParser()
    return [event for chunk in chunks for event in parser.feed(chunk)]


def test_one_chunk():
    assert parse_in([STREAM]) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64])
def test_any_chunk_size_gives_the_same_events(size):
    chunks = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    assert parse_in(chunks) == EXPECTED


def test_an_event_is_returned_by_the_chunk_that_ends_it():
    parser = SSEParser()
    assert parser.feed(b"data: a\n") == []
    assert parser.feed(b"\n") == [SSEEvent("message", "a", None)]


def test_a_cr_at_a_chunk_end_and_its_lf_make_one_line_break():
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n\r\n") == [SSEEvent("message", "a", None)]


def test_an_endless_line_is_event_too_large():
    parser = SSEParser(max_event_bytes=1000)
    with pytest.raises(ClientError) as caught:
        for _ in range(20):
            parser.feed(b"data: " + b"x" * 100)
    assert caught.value.code == "EVENT_TOO_LARGE"


def test_too_many_data_lines_are_event_too_large():
    parser = SSEParser(max_event_bytes=1000)
    with pytest.raises(ClientError):
        parser.feed(b"data: " + b"x" * 600 + b"\ndata: " + b"y" * 600 + b"\n")
