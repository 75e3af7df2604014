"""The relay's forwarding path reads headers without copying payloads."""

from __future__ import annotations

import tracemalloc

from relayproto.frames import FrameType, decode_frame, encode_frame, peek_header


def test_peek_header_allocates_nothing_proportional_to_the_payload():
    data = bytearray(encode_frame(FrameType.DATA, 12, b"\x00" * (1024 * 1024)))
    peek_header(data)  # warm caches (enum lookups) outside the measurement
    tracemalloc.start()
    try:
        for _ in range(10):
            assert peek_header(data) == (FrameType.DATA, 12, 1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024


def test_peek_header_accepts_a_memoryview_slice_of_a_bigger_buffer():
    frame = encode_frame(FrameType.DATA, 3, b"hello")
    buffer = bytearray(b"junk" + frame + b"more")
    view = memoryview(buffer)[4 : 4 + len(frame)]
    assert peek_header(view) == (FrameType.DATA, 3, 5)


def test_decoded_payload_is_a_view_of_the_input_buffer():
    buffer = bytearray(encode_frame(FrameType.DATA, 1, b"before"))
    frame = decode_frame(buffer)
    assert isinstance(frame.payload, memoryview)
    buffer[-6:] = b"after!"
    assert frame.payload == b"after!"
    frame.payload.release()
