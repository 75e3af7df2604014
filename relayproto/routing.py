"""Routing tokens: what lets a relay turn strangers away before they cost the instance a DH.

Phone and instance derive the same token from a secret they share and the relay never sees
(the device psk, or the pairing secret while pairing). The phone sends the token in CONNECT;
the instance tells its relay only the tokens' SHA-256 (ROUTES). Tokens decide who may use the
relay, never who may read anything: a relay that learns a token gains nothing it did not have.
"""

from __future__ import annotations

import hashlib
import hmac

from relayproto import b64

_LABEL = b"pulse-relay routing token v1"


def routing_token(secret: bytes) -> str:
    """The routing token derived from a device psk or pairing secret (43 base64url chars)."""
    digest = hmac.new(bytes(secret), _LABEL, hashlib.sha256).digest()
    return b64.encode(digest)


def routing_hash(token: str) -> str:
    """What the relay compares: the token's SHA-256 as lowercase hex."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()
