"""Relay licences: Ed25519-signed tokens that admit an instance to a relay.

A token is ``pulse-lic1.<claims>.<signature>``, both parts unpadded base64url. ``claims`` is
compact UTF-8 JSON; the signature covers the ASCII bytes ``pulse-lic1.<claims>``. The relay
verifies tokens offline against the operator's public key(s); the instance only reads the
claims to show them.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from relayproto import b64
from relayproto.errors import ProtocolError

TOKEN_PREFIX = "pulse-lic1"  # noqa: S105 - a format tag, not a secret
MAX_TOKEN_LENGTH = 4096
RELAY_FEATURE = "relay"
_INSTANCE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Caps an operator may sell per licence (claim "limits"); the relay applies the lower of each
# and its own setting. A relay that does not know a cap refuses the licence rather than ignore it.
LIMIT_CLAIMS = ("channels", "bytes_per_second")


class LicenceError(ProtocolError):
    """A licence that is malformed, badly signed, expired, revoked or lacks a feature."""

    code = "LICENSE_INVALID"


@dataclass(frozen=True)
class Licence:
    """The verified (or merely parsed) claims of a licence token."""

    token_id: str
    instance_id: str
    name: str
    features: tuple[str, ...]
    issued_at: int
    expires_at: int
    key_id: str
    # Caps from the "limits" claim (None: the relay's own setting applies).
    max_channels: int | None = None
    bytes_per_second: int | None = None

    def expired(self, now: float | None = None) -> bool:
        """Whether the licence's expiry has passed."""
        return (time.time() if now is None else now) >= self.expires_at

    def limits(self) -> dict[str, int]:
        """The caps this licence sets, by claim name (empty: none)."""
        caps = {"channels": self.max_channels, "bytes_per_second": self.bytes_per_second}
        return {name: value for name, value in caps.items() if value is not None}

    def as_dict(self) -> dict:
        """The claims as plain data (for APIs and logs; the token itself is not included)."""
        return {
            "token_id": self.token_id,
            "instance_id": self.instance_id,
            "name": self.name,
            "features": list(self.features),
            "issued_at": self.issued_at,
            "limits": self.limits(),
            "expires_at": self.expires_at,
            "key_id": self.key_id,
        }


_b64encode = b64.encode


def _b64decode(text: str) -> bytes:
    try:
        return b64.decode(text)
    except ValueError:
        raise LicenceError("licence token is not valid base64url") from None


def key_id(public_key: Ed25519PublicKey | bytes) -> str:
    """A short stable id for an operator public key (first 8 bytes of its SHA-256, hex)."""
    raw = public_key if isinstance(public_key, bytes) else _raw_public(public_key)
    return hashlib.sha256(raw).hexdigest()[:16]


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def new_instance_id() -> str:
    """A fresh random instance id (22 base64url characters, 128 bits)."""
    return _b64encode(secrets.token_bytes(16))


def issue(
    private_key: Ed25519PrivateKey,
    *,
    name: str,
    days: float,
    instance_id: str | None = None,
    features: Iterable[str] = (RELAY_FEATURE,),
    now: float | None = None,
    limits: Mapping[str, int] | None = None,
) -> str:
    """Sign a licence token for an instance; ``limits`` caps it (see LIMIT_CLAIMS)."""
    issued = int(time.time() if now is None else now)
    instance = instance_id or new_instance_id()
    if not _INSTANCE_ID.match(instance):
        raise LicenceError("instance id must be 1-64 characters of A-Z a-z 0-9 _ -")
    if not name or len(name) > 200:
        raise LicenceError("licence name must be 1-200 characters")
    if days <= 0:
        raise LicenceError("licence must be valid for a positive number of days")
    claims = {
        "v": 1,
        "tid": _b64encode(secrets.token_bytes(12)),
        "sub": instance,
        "name": name,
        "features": sorted(set(features)),
        "iat": issued,
        "exp": issued + int(days * 86400),
        "kid": key_id(private_key.public_key()),
    }
    if limits:
        claims["limits"] = _checked_limits(dict(limits))
    body = f"{TOKEN_PREFIX}.{_b64encode(json.dumps(claims, separators=(',', ':')).encode())}"
    signature = private_key.sign(body.encode("ascii"))
    return f"{body}.{_b64encode(signature)}"


def _split(token: str) -> tuple[str, dict, bytes]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise LicenceError("licence token is missing or longer than 4096 characters")
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise LicenceError(f"licence token must look like {TOKEN_PREFIX}.<claims>.<signature>")
    try:
        claims = json.loads(_b64decode(parts[1]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise LicenceError("licence claims are not JSON") from None
    if not isinstance(claims, dict):
        raise LicenceError("licence claims are not a JSON object")
    return f"{parts[0]}.{parts[1]}", claims, _b64decode(parts[2])


def _checked_limits(limits: object) -> dict[str, int]:
    if not isinstance(limits, dict):
        raise LicenceError("licence claim 'limits' must be a JSON object")
    unknown = sorted(set(limits) - set(LIMIT_CLAIMS))
    if unknown:
        raise LicenceError(
            f"licence sets limits this relay does not know ({', '.join(unknown)}): upgrade the "
            "relay, or reissue the licence without them"
        )
    for name, value in limits.items():
        if type(value) is not int or not 1 <= value <= 2**53:
            raise LicenceError(f"licence limit {name!r} must be a positive integer")
    return limits


def _claims_to_licence(claims: Mapping) -> Licence:
    def field(name: str, kind: type):
        value = claims.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise LicenceError(f"licence claim {name!r} is missing or not a {kind.__name__}")
        return value

    if claims.get("v") != 1:
        raise LicenceError("licence version is not 1: upgrade the relay or reissue the licence")
    features = field("features", list)
    if not all(isinstance(item, str) for item in features):
        raise LicenceError("licence claim 'features' must be a list of strings")
    instance_id = field("sub", str)
    if not _INSTANCE_ID.match(instance_id):
        raise LicenceError("licence claim 'sub' is not a valid instance id")
    limits = _checked_limits(claims["limits"]) if "limits" in claims else {}
    return Licence(
        token_id=field("tid", str),
        instance_id=instance_id,
        name=field("name", str),
        features=tuple(features),
        issued_at=field("iat", int),
        expires_at=field("exp", int),
        key_id=field("kid", str),
        max_channels=limits.get("channels"),
        bytes_per_second=limits.get("bytes_per_second"),
    )


def parse_unverified(token: str) -> Licence:
    """Read a token's claims without checking the signature (for display on the instance)."""
    _, claims, _ = _split(token)
    return _claims_to_licence(claims)


def verify(
    token: str,
    public_keys: Iterable[Ed25519PublicKey],
    *,
    revoked_token_ids: Iterable[str] = (),
    required_feature: str = RELAY_FEATURE,
    now: float | None = None,
) -> Licence:
    """Verify a token against the operator keys; raise LicenceError with a stable code."""
    signed, claims, signature = _split(token)
    licence = _claims_to_licence(claims)
    keys = {key_id(key): key for key in public_keys}
    key = keys.get(licence.key_id)
    if key is None:
        raise LicenceError("licence was signed by a key this relay does not trust")
    try:
        key.verify(signature, signed.encode("ascii"))
    except InvalidSignature:
        raise LicenceError("licence signature does not verify") from None
    if licence.token_id in set(revoked_token_ids):
        raise LicenceError("licence has been revoked by the relay operator", code="LICENSE_REVOKED")
    if licence.expired(now):
        raise LicenceError("licence has expired: ask for a new one", code="LICENSE_EXPIRED")
    if required_feature not in licence.features:
        raise LicenceError(
            f"licence does not include the {required_feature!r} feature", code="FEATURE_MISSING"
        )
    return licence
