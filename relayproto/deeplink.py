"""The pairing deep link (``pulse://pair?...``) carried by the QR code; see docs/protocol.md.

Framework-free: the instance builds links with :meth:`PairingInvite.to_uri`, the reference
client reads them with :func:`parse`. Binary values are unpadded base64url; the relay URL is
percent-encoded.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, urlsplit

from relayproto import PROTOCOL_VERSION, b64
from relayproto.errors import ProtocolError

SCHEME = "pulse"
HOST = "pair"
MAX_LINK_LENGTH = 2048
_INSTANCE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_FIELDS = ("v", "relay", "iid", "ipk", "pid", "psk", "exp")


class DeepLinkError(ProtocolError):
    """A pairing link that is malformed, of another version, or expired."""

    code = "DEEP_LINK_INVALID"


_b64e = b64.encode


def _b64d(text: str, name: str, size: int) -> bytes:
    try:
        value = b64.decode(text)
    except ValueError:
        raise DeepLinkError(f"deep link field {name!r} is not base64url") from None
    if len(value) != size:
        raise DeepLinkError(f"deep link field {name!r} must decode to {size} bytes")
    return value


@dataclass(frozen=True)
class PairingInvite:
    """Everything a phone needs to pair: where the relay is and whom it must reach."""

    relay_url: str
    instance_id: str
    instance_public_key: bytes
    pairing_id: bytes
    pairing_secret: bytes = field(repr=False)
    expires_at: int
    version: int = PROTOCOL_VERSION

    def to_uri(self) -> str:
        """The ``pulse://pair?...`` link, fields in a fixed order."""
        return (
            f"{SCHEME}://{HOST}?v={self.version}"
            f"&relay={quote(self.relay_url, safe='')}"
            f"&iid={self.instance_id}"
            f"&ipk={_b64e(self.instance_public_key)}"
            f"&pid={_b64e(self.pairing_id)}"
            f"&psk={_b64e(self.pairing_secret)}"
            f"&exp={int(self.expires_at)}"
        )

    def expired(self, now: float | None = None) -> bool:
        """Whether the invitation's expiry has passed."""
        return (time.time() if now is None else now) >= self.expires_at


def parse(uri: str, *, check_expiry: bool = True, now: float | None = None) -> PairingInvite:
    """Read a pairing link; raises DeepLinkError naming the first bad field."""
    if not isinstance(uri, str) or len(uri) > MAX_LINK_LENGTH:
        raise DeepLinkError("deep link is missing or too long")
    parts = urlsplit(uri.strip())
    if parts.scheme != SCHEME or parts.netloc != HOST:
        raise DeepLinkError(f"not a pairing link: it must start with {SCHEME}://{HOST}?")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    for name in _FIELDS:
        if len(query.get(name, [])) != 1:
            raise DeepLinkError(f"deep link must carry exactly one {name!r}")
    values = {name: query[name][0] for name in _FIELDS}
    if values["v"] != str(PROTOCOL_VERSION):
        raise DeepLinkError(
            f"deep link is for protocol version {values['v']!r}; this client speaks "
            f"{PROTOCOL_VERSION}: update the app or the instance",
            code="VERSION_UNSUPPORTED",
        )
    relay = urlsplit(values["relay"])
    if relay.scheme not in ("ws", "wss") or not relay.hostname:
        raise DeepLinkError("deep link field 'relay' is not a ws:// or wss:// URL")
    if not _INSTANCE_ID.match(values["iid"]):
        raise DeepLinkError("deep link field 'iid' is not an instance id")
    if not values["exp"].isdigit():
        raise DeepLinkError("deep link field 'exp' is not a Unix time")
    invite = PairingInvite(
        relay_url=values["relay"],
        instance_id=values["iid"],
        instance_public_key=_b64d(values["ipk"], "ipk", 32),
        pairing_id=_b64d(values["pid"], "pid", 16),
        pairing_secret=_b64d(values["psk"], "psk", 32),
        expires_at=int(values["exp"]),
        version=PROTOCOL_VERSION,
    )
    if check_expiry and invite.expired(now):
        raise DeepLinkError("this pairing link has expired: create a new one", code="EXPIRED")
    return invite
