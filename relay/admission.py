"""Who may use the relay: licence checks for instances and resume tokens for reconnects."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings

from relay import operator
from relayproto import b64
from relayproto import licence as licences
from relayproto.control import Register


@dataclass(frozen=True)
class Admitted:
    """An instance the relay accepted: its verified licence and a fresh resume token."""

    licence: licences.Licence
    resume_token: str
    resume_expires_at: int
    resumed: bool


class Admission:
    """Verifies REGISTER offline against the operator keys and revocation list."""

    def __init__(
        self,
        public_keys: list[Ed25519PublicKey],
        revoked_token_ids: list[str],
        resume_secret: bytes,
        resume_ttl: int,
    ) -> None:
        self.public_keys = public_keys
        self.revoked = frozenset(revoked_token_ids)
        self._secret = resume_secret
        self.resume_ttl = resume_ttl

    @classmethod
    def from_settings(cls) -> Admission:
        """Build from the data directory's key, configured keys and revocations."""
        secret = hashlib.sha256(b"pulse-relay resume v1|" + settings.SECRET_KEY.encode()).digest()
        return cls(
            operator.trusted_public_keys(),
            settings.PULSE_RELAY_REVOKED_LICENCES,
            secret,
            settings.PULSE_RELAY_RESUME_TTL,
        )

    def _mac(self, instance_id: str, token_id: str, expires_at: int) -> str:
        message = f"{instance_id}|{token_id}|{expires_at}".encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()[:24]
        return b64.encode(digest)

    def issue_resume_token(self, licence: licences.Licence, now: float) -> tuple[str, int]:
        """A token proving this instance registered recently, and when it stops doing so."""
        expires_at = int(now) + self.resume_ttl
        return f"{expires_at}.{self._mac(licence.instance_id, licence.token_id, expires_at)}", (
            expires_at
        )

    def resume_valid(self, token: str | None, licence: licences.Licence, now: float) -> bool:
        """Whether ``token`` came from a relay sharing our secret, for this licence, unexpired."""
        if not token:
            return False
        expires_text, _, mac = token.partition(".")
        if not expires_text.isdigit() or int(expires_text) < now:
            return False
        expected = self._mac(licence.instance_id, licence.token_id, int(expires_text))
        return hmac.compare_digest(expected, mac)

    def admit(self, register: Register, now: float | None = None) -> Admitted:
        """Verify a REGISTER; raise LicenceError (with its stable code) when refused."""
        moment = time.time() if now is None else now
        verified = licences.verify(
            register.licence, self.public_keys, revoked_token_ids=self.revoked, now=moment
        )
        resumed = self.resume_valid(register.resume_token, verified, moment)
        token, expires_at = self.issue_resume_token(verified, moment)
        return Admitted(verified, token, expires_at, resumed)
