"""API tokens: creation (shown once), lookup by hash, revocation, scopes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from instance import auditing
from instance.models import ApiToken

SCOPES = ("settings:read", "settings:write", "devices:write", "audit:read")
TOKEN_PREFIX = "pulse_"  # noqa: S105 - a format tag, not a secret
# Writing last_used_at on every request would turn each read into a write.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(ValueError):
    """A token request that cannot be honoured (unknown scope, empty name...)."""


def hash_token(plaintext: str) -> str:
    """SHA-256 hex of a token (tokens are 256-bit random, so a fast hash is enough)."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def normalise_scopes(scopes: Iterable[str]) -> list[str]:
    """Validate scope names and return them sorted and de-duplicated."""
    result = sorted({s.strip() for s in scopes if s and s.strip()})
    unknown = [s for s in result if s not in SCOPES]
    if unknown:
        raise TokenError(f"unknown scope(s) {', '.join(unknown)}: choose from {', '.join(SCOPES)}")
    if not result:
        raise TokenError(f"give at least one scope: {', '.join(SCOPES)}")
    return result


def create_token(
    name: str, scopes: Iterable[str], *, actor: str = "", ip: str | None = None
) -> tuple[ApiToken, str]:
    """Create a token; returns the model and the plaintext, which is never shown again."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise TokenError("a token needs a name of 1-100 characters")
    scope_list = normalise_scopes(scopes)
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            name=name,
            prefix=plaintext[: len(TOKEN_PREFIX) + 6],
            token_hash=hash_token(plaintext),
            scopes=scope_list,
            created_by=actor,
        )
        auditing.record(
            auditing.TOKEN_CREATED,
            actor=actor,
            ip=ip,
            details={"token_id": token.pk, "token_name": name, "scopes": scope_list},
        )
    return token, plaintext


def revoke_token(token: ApiToken, *, actor: str = "", ip: str | None = None) -> bool:
    """Revoke a token (idempotent); returns whether it was active."""
    with transaction.atomic():
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if changed:
            auditing.record(
                auditing.TOKEN_REVOKED,
                actor=actor,
                ip=ip,
                details={"token_id": token.pk, "token_name": token.name},
            )
    token.refresh_from_db()
    return bool(changed)


def authenticate_token(plaintext: str) -> ApiToken | None:
    """The active token with this plaintext, or None; notes when it was last used."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 200:
        return None
    token = ApiToken.objects.filter(
        token_hash=hash_token(plaintext), revoked_at__isnull=True
    ).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
