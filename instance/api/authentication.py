"""Bearer-token authentication for the instance API (``Authorization: Bearer pulse_…``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from rest_framework import authentication, exceptions

from instance import auditing, tokens
from instance.models import ApiToken
from relayproto.client_address import client_address


@dataclass
class TokenPrincipal:
    """The caller behind an API token: authenticated, limited to the token's scopes."""

    token: ApiToken
    scopes: frozenset[str] = field(default_factory=frozenset)
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False

    @property
    def username(self) -> str:
        """How the caller appears in the audit trail."""
        return f"token:{self.token.name}"

    def __str__(self) -> str:
        return self.username


def client_ip(request) -> str | None:
    """The caller's address by the project's one rule (relayproto.client_address): REMOTE_ADDR,
    or behind a trusted proxy the hop it added to X-Forwarded-For."""
    return client_address(
        request.META.get("REMOTE_ADDR"),
        request.META.get("HTTP_X_FORWARDED_FOR"),
        trust_proxy=settings.PULSE_TRUST_X_FORWARDED_FOR,
    )


def actor_of(request) -> str:
    """A short description of who made the request, for the audit trail."""
    user = getattr(request, "user", None)
    if isinstance(user, TokenPrincipal):
        return user.username
    if user is not None and user.is_authenticated:
        return f"user:{user.get_username()}"
    return ""


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Authenticates ``Authorization: Bearer <token>``; failures are 401 and audited."""

    keyword = "Bearer"

    def authenticate(self, request):
        """Return (principal, token) for a valid bearer token, None when there is none."""
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            self._fail(request, "malformed Authorization header")
        try:
            plaintext = header[1].decode("ascii")
        except UnicodeDecodeError:
            self._fail(request, "malformed Authorization header")
        token = tokens.authenticate_token(plaintext)
        if token is None:
            self._fail(request, "unknown or revoked API token")
        return TokenPrincipal(token=token, scopes=frozenset(token.scopes)), token

    def _fail(self, request, reason: str):
        auditing.auth_failed(reason, ip=client_ip(request), actor="api")
        raise exceptions.AuthenticationFailed(
            f"{reason}: send 'Authorization: Bearer <token>' with a token from "
            "`manage.py create_api_token` or Settings → Relay."
        )

    def authenticate_header(self, request) -> str:
        """Makes unauthenticated requests 401 (with this challenge) rather than 403."""
        return f'{self.keyword} realm="relay-instance-api"'
