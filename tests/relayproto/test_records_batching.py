"""DATA payloads carry records back to back, each behind a u16 big-endian length."""

from __future__ import annotations

import pytest

from relayproto.errors import RecordError
from relayproto.records import MAX_PLAINTEXT, SecureChannel, pack_records, unpack_records
from tests.relayproto.crypto_support import channel_pair, key


def test_pack_layout() -> None:
    records = [b"r" * 16, b"s" * 300]
    assert pack_records(records) == b"\x00\x10" + records[0] + b"\x01\x2c" + records[1]
    assert pack_records([]) == b""


def test_unpack_yields_memoryviews_without_copying() -> None:
    payload = pack_records([b"a" * 16, b"b" * 17])
    views = list(unpack_records(payload))
    assert [bytes(v) for v in views] == [b"a" * 16, b"b" * 17]
    assert all(isinstance(v, memoryview) for v in views)
    assert views[0].obj is payload


@pytest.mark.parametrize(
    "payload",
    [
        b"\x00",
        b"\x00\x0f" + bytes(15),
        b"\x00\x00",
        b"\x00\x11" + bytes(16),
        b"\x00\x10" + bytes(17),
    ],
    ids=["half-prefix", "shorter-than-tag", "empty-record", "past-end", "trailing-byte"],
)
def test_malformed_payloads_fail(payload: bytes) -> None:
    with pytest.raises(RecordError):
        list(unpack_records(payload))


@pytest.mark.parametrize("records", [[b"x" * 15], [b"x" * 65536], ["text" * 5]])
def test_pack_refuses_impossible_records(records: list) -> None:
    with pytest.raises(RecordError):
        pack_records(records)


def test_seal_many_equals_packing_individual_seals() -> None:
    for size in (100, 20000):
        chunks = [bytes([i]) * size for i in range(4)]
        one = SecureChannel(key("a"), key("b"))
        other = SecureChannel(key("a"), key("b"))
        assert bytes(one.seal_many(chunks)) == pack_records([other.seal(c) for c in chunks])


def test_seal_many_headroom_is_left_zeroed_for_a_frame_header() -> None:
    phone, instance = channel_pair()
    for size in (10, 30000):
        payload = phone.seal_many([b"q" * size], headroom=12)
        assert payload[:12] == bytes(12)
        assert instance.open_many(memoryview(payload)[12:]) == [b"q" * size]


def test_open_many_round_trip_of_full_records() -> None:
    phone, instance = channel_pair()
    chunks = [bytes([i]) * MAX_PLAINTEXT for i in range(3)] + [b"tail"]
    assert instance.open_many(phone.seal_many(chunks)) == chunks
    assert instance.open_many(b"") == []


def test_a_bad_chunk_costs_no_nonce() -> None:
    phone, instance = channel_pair()
    with pytest.raises(RecordError):
        phone.seal_many([b"fine", b""])
    with pytest.raises(RecordError):
        phone.seal_many([b"fine", bytes(MAX_PLAINTEXT + 1)])
    with pytest.raises(RecordError):
        phone.seal_many([b"fine", 7])  # type: ignore[list-item]
    with pytest.raises(RecordError):
        phone.seal_many(7)  # type: ignore[arg-type]
    with pytest.raises(RecordError):
        phone.seal_many([b"fine"], headroom=-1)
    assert phone.records_sent == 0 and not phone.closed
    assert instance.open_many(phone.seal_many(iter([b"gen", b"erator"]))) == [b"gen", b"erator"]
