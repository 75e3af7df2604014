"""Each error code has its own WebSocket close code in 4000-4999 (daphne refuses 1013)."""

from __future__ import annotations

from relayproto.control import CloseReason
from relayproto.frames import WS_CLOSE_CODES, ErrorCode, error_for_close_code


def test_every_error_code_has_a_distinct_4xxx_close_code():
    assert set(WS_CLOSE_CODES) == set(ErrorCode)
    assert all(4000 <= code <= 4999 for code in WS_CLOSE_CODES.values())
    assert len(set(WS_CLOSE_CODES.values())) == len(WS_CLOSE_CODES)


def test_close_codes_map_back_to_error_codes():
    for error, code in WS_CLOSE_CODES.items():
        assert error_for_close_code(code) is error
    assert error_for_close_code(1000) is None
    assert error_for_close_code(1013) is None


def test_required_error_codes_exist():
    required = [
        "LICENSE_INVALID",
        "LICENSE_EXPIRED",
        "FEATURE_MISSING",
        "LICENSE_REVOKED",
        "RATE_LIMITED",
        "DUPLICATE_INSTANCE",
        "SERVER_DRAINING",
        "INSTANCE_OFFLINE",
        "CHANNEL_LIMIT_REACHED",
        "CHANNEL_REFUSED",
        "ROUTING_UNAVAILABLE",
        "RELAY_OVERLOADED",
        "FRAME_TOO_LARGE",
        "MALFORMED_FRAME",
        "UNSUPPORTED_VERSION",
        "WINDOW_EXCEEDED",
        "HANDSHAKE_TIMEOUT",
        "IDLE_TIMEOUT",
        "OUTPUT_STALLED",
        "UNAUTHORIZED",
        "INTERNAL",
    ]
    assert {e.value for e in ErrorCode} == set(required)


def test_channel_close_reasons_include_every_error_code():
    reasons = {r.value for r in CloseReason}
    assert {e.value for e in ErrorCode} <= reasons
    assert reasons - {e.value for e in ErrorCode} == {"NORMAL", "PEER_GONE"}
