"""docs/protocol.md shows the frames and inner messages the code really produces."""

from __future__ import annotations

from pathlib import Path

import pytest

from relayproto.control import decode_control
from relayproto.examples_wire import all_examples, inner_examples, outer_examples
from relayproto.frames import decode_frame, peek_header
from relayproto.inner import decode_message

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


@pytest.mark.parametrize("example", all_examples(), ids=lambda e: e.label)
def test_example_hex_appears_verbatim_in_the_protocol_doc(example):
    assert example.data.hex() in DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("example", outer_examples(), ids=lambda e: e.label)
def test_outer_examples_decode(example):
    if example.label == "data_header":
        assert peek_header(example.data + b"\x00" * 262144)[2] == 262144
        return
    frame = decode_frame(example.data)
    if frame.type.name not in ("PING", "PONG", "CREDIT"):
        decode_control(frame)


@pytest.mark.parametrize("example", inner_examples(), ids=lambda e: e.label)
def test_inner_examples_decode(example):
    decode_message(example.data)
