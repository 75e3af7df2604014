"""Whatever bytes arrive, the crypto decoders return a value or their typed error, nothing else."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relayproto.errors import HandshakeError, RecordError
from relayproto.handshake import Message1Payload, Message2Payload
from relayproto.records import SecureChannel, pack_records, unpack_records
from tests.relayproto.crypto_support import PAIRING_ID, instance, key, phone

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ANYTHING = st.one_of(
    st.binary(max_size=300),
    st.none(),
    st.integers(),
    st.text(max_size=20),
    st.lists(st.integers(0, 255), max_size=5),
)
VALID_MESSAGE1 = phone().write_message1(Message1Payload.pairing(PAIRING_ID))


@SLOW
@given(st.one_of(st.binary(max_size=200), ANYTHING))
def test_read_message1_with_any_input(data: object) -> None:
    try:
        hello = instance().read_message1(data)  # type: ignore[arg-type]
    except HandshakeError:
        return
    assert len(hello.initiator_static) == 32


@SLOW
@given(
    st.lists(st.tuples(st.integers(0, len(VALID_MESSAGE1) - 1), st.integers(1, 255)), min_size=1)
)
def test_any_corruption_of_message1_is_a_handshake_error(flips: list[tuple[int, int]]) -> None:
    message = bytearray(VALID_MESSAGE1)
    for index, mask in flips:
        message[index] ^= mask
    if bytes(message) == VALID_MESSAGE1:
        return
    try:
        instance().read_message1(bytes(message))
    except HandshakeError:
        return
    raise AssertionError("a corrupted message 1 was accepted")


@SLOW
@given(st.one_of(st.binary(max_size=200), ANYTHING))
def test_read_message2_with_any_input(data: object) -> None:
    caller = phone()
    caller.write_message1(Message1Payload.device())
    try:
        caller.read_message2(data)  # type: ignore[arg-type]
    except HandshakeError:
        return
    raise AssertionError("random bytes authenticated as message 2")


@FAST
@given(ANYTHING)
def test_open_with_any_input(data: object) -> None:
    channel = SecureChannel(key("a"), key("b"))
    try:
        channel.open(data)  # type: ignore[arg-type]
    except RecordError:
        assert channel.broken
        return
    raise AssertionError("random bytes authenticated as a record")


@FAST
@given(ANYTHING)
def test_open_many_with_any_input(data: object) -> None:
    channel = SecureChannel(key("a"), key("b"))
    try:
        assert channel.open_many(data) == []  # type: ignore[arg-type]
    except RecordError:
        return


@FAST
@given(ANYTHING)
def test_seal_with_any_input(data: object) -> None:
    try:
        SecureChannel(key("a"), key("b")).seal(data)  # type: ignore[arg-type]
    except RecordError:
        return


@FAST
@given(st.one_of(st.binary(max_size=600), ANYTHING))
def test_unpack_records_with_any_input_and_repacks_exactly(data: object) -> None:
    try:
        records = [bytes(r) for r in unpack_records(data)]  # type: ignore[arg-type]
    except RecordError:
        return
    assert pack_records(records) == data


@FAST
@given(st.lists(st.binary(min_size=16, max_size=200), max_size=5))
def test_pack_then_unpack_round_trips(records: list[bytes]) -> None:
    assert [bytes(r) for r in unpack_records(pack_records(records))] == records


def _payload_bytes() -> st.SearchStrategy[bytes]:
    # Mostly well-formed prefixes, so the decoders get past the header often.
    prefix = st.sampled_from([b"", b"\x01", b"\x01\x01", b"\x01\x02", b"\x02\x01"])
    return st.builds(lambda p, rest: p + rest, prefix, st.binary(max_size=80))


@FAST
@given(st.one_of(_payload_bytes(), ANYTHING))
def test_message1_payload_decoder_is_total_and_canonical(data: object) -> None:
    try:
        payload = Message1Payload.decode(data)  # type: ignore[arg-type]
    except HandshakeError:
        return
    assert payload.encode() == data


@FAST
@given(st.one_of(_payload_bytes(), ANYTHING))
def test_message2_payload_decoder_is_total_and_canonical(data: object) -> None:
    try:
        payload = Message2Payload.decode(data)  # type: ignore[arg-type]
    except HandshakeError:
        return
    assert payload.encode() == data
