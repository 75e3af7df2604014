"""The instance's effective relay settings: relay.enc plus environment overrides.

``PULSE_RELAY_ENABLED`` and ``PULSE_RELAY_SERVER`` (and ``PULSE_PAIRING_REQUIRES_APPROVAL``)
win over what relay.enc stores and are reported as overrides. Every read goes to relay.enc
(it is tiny), so a change made by one process is seen by the others at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings

from instance import auditing, relayenc
from relayproto import b64, handshake, socket_urls
from relayproto.licence import RELAY_FEATURE, LicenceError, parse_unverified

INSTANCE_PATH = socket_urls.INSTANCE_PATH
APP_PATH = socket_urls.APP_PATH


class SettingsError(ValueError):
    """A value the owner gave cannot be used; ``field`` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        """Remember which field was wrong."""
        super().__init__(message)
        self.field = field_name


def b64url(data: bytes) -> str:
    """Unpadded base64url, the form public keys travel in."""
    return b64.encode(data)


@dataclass(frozen=True)
class RelaySettings:
    """What the API reports: effective values, the identity, the licence and the overrides."""

    enabled: bool
    server_url: str
    pairing_requires_approval: bool
    instance_id: str
    identity_public_key: str
    identity_fingerprint: str
    identity_created_at: str
    licence: dict | None
    overrides: list[dict] = field(default_factory=list)
    stored: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain data for the API."""
        return {
            "enabled": self.enabled,
            "server_url": self.server_url,
            "pairing_requires_approval": self.pairing_requires_approval,
            "instance_id": self.instance_id,
            "identity_public_key": self.identity_public_key,
            "identity_fingerprint": self.identity_fingerprint,
            "identity_created_at": self.identity_created_at,
            "licence": self.licence,
            "overrides": self.overrides,
            "stored": self.stored,
        }


def licence_summary(token: str, *, now: float | None = None) -> dict | None:
    """Name, features, expiry and validity of a licence token (claims only; the relay checks
    the signature)."""
    if not token:
        return None
    try:
        licence = parse_unverified(token)
    except LicenceError as exc:
        return {
            "name": "",
            "instance_id": "",
            "token_id": "",
            "features": [],
            "expires_at": None,
            "valid": False,
            "problem": str(exc),
        }
    problem = ""
    if licence.expired(now):
        problem = "the licence has expired: ask the relay operator for a new one"
    elif RELAY_FEATURE not in licence.features:
        problem = f"the licence lacks the {RELAY_FEATURE!r} feature"
    return {
        "name": licence.name,
        "instance_id": licence.instance_id,
        "token_id": licence.token_id,
        "features": list(licence.features),
        "expires_at": datetime.fromtimestamp(licence.expires_at, UTC).isoformat(),
        "valid": not problem,
        "problem": problem,
    }


def validate_server_url(value: str) -> str:
    """Accept ``ws[s]://host[:port][/path]`` (or empty, to clear); return it stripped."""
    value = (value or "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise SettingsError("server_url", "the port is not a number between 0 and 65535") from None
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise SettingsError(
            "server_url", "use a WebSocket URL: ws://host[:port] or wss://host[:port]"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise SettingsError("server_url", "the relay URL takes no credentials, query or fragment")
    if len(value) > 500:
        raise SettingsError("server_url", "the relay URL is longer than 500 characters")
    return value


def relay_base_url(server_url: str) -> str:
    """The relay's base URL without the role path (``/ws/instance`` or ``/ws/app``)."""
    base = server_url.rstrip("/")
    for suffix in (INSTANCE_PATH, APP_PATH):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def instance_socket_url(server_url: str, instance_id: str = "") -> str:
    """The URL the connector dials: the base URL plus ``/ws/instance?iid=<instance id>`` (the
    id lets a load balancer keep the instance and its phones on one relay worker)."""
    if not server_url:
        return ""
    return socket_urls.socket_url(relay_base_url(server_url), INSTANCE_PATH, instance_id)


def _env_approval() -> bool | None:
    if getattr(settings, "PULSE_PAIRING_REQUIRES_APPROVAL_SET", False):
        return bool(settings.PULSE_PAIRING_REQUIRES_APPROVAL)
    return None


def _effective(stored: relayenc.RelayEnc) -> RelaySettings:
    overrides = []
    enabled = stored.enabled
    if settings.PULSE_RELAY_ENABLED_SET:
        enabled = bool(settings.PULSE_RELAY_ENABLED)
        overrides.append({"field": "enabled", "variable": "PULSE_RELAY_ENABLED"})
    server_url = stored.server_url
    if settings.PULSE_RELAY_SERVER:
        server_url = settings.PULSE_RELAY_SERVER
        overrides.append({"field": "server_url", "variable": "PULSE_RELAY_SERVER"})
    approval = stored.pairing_requires_approval
    env_approval = _env_approval()
    if env_approval is not None:
        approval = env_approval
        overrides.append(
            {"field": "pairing_requires_approval", "variable": "PULSE_PAIRING_REQUIRES_APPROVAL"}
        )
    if approval is None:
        approval = bool(getattr(settings, "PULSE_PAIRING_REQUIRES_APPROVAL", True))
    public = handshake.public_key(stored.identity_private) if stored.identity_private else b""
    licence = licence_summary(stored.licence_token)
    return RelaySettings(
        enabled=enabled,
        server_url=server_url,
        pairing_requires_approval=approval,
        instance_id=(licence or {}).get("instance_id", ""),
        identity_public_key=b64url(public) if public else "",
        identity_fingerprint=handshake.key_fingerprint(public) if public else "",
        identity_created_at=stored.identity_created_at,
        licence=licence,
        overrides=overrides,
        stored={
            "enabled": stored.enabled,
            "server_url": stored.server_url,
            "pairing_requires_approval": stored.pairing_requires_approval,
        },
    )


def current() -> RelaySettings:
    """The effective settings now (raises relayenc.RelayEncError if relay.enc is unusable)."""
    return _effective(relayenc.load())


def instance_id() -> str:
    """This instance's id: the ``sub`` of its licence ("" without a readable licence)."""
    return current().instance_id


def licence_token() -> str:
    """The stored licence token, for the connector's REGISTER (never logged)."""
    return relayenc.load().licence_token


def identity_private_key() -> bytes | None:
    """The instance's raw X25519 private key, for the E2E responder."""
    return relayenc.load().identity_private


def identity_public_key() -> bytes | None:
    """The instance's raw X25519 public key."""
    private = identity_private_key()
    return handshake.public_key(private) if private else None


def _with_identity(stored: relayenc.RelayEnc) -> relayenc.RelayEnc:
    if stored.identity_private:
        return stored
    return replace(
        stored,
        identity_private=handshake.generate_static_key(),
        identity_created_at=datetime.now(UTC).isoformat(),
    )


def ensure_identity() -> bytes:
    """Create the identity key if there is none yet; returns the public key."""
    stored = relayenc.load()
    if not stored.identity_private:
        stored = relayenc.update(_with_identity)
    return handshake.public_key(stored.identity_private)


def update(
    *,
    enabled: bool | None = None,
    server_url: str | None = None,
    licence_token: str | None = None,
    pairing_requires_approval: bool | None = None,
    replace_instance: bool = False,
    actor: str = "",
    ip: str | None = None,
) -> RelaySettings:
    """Validate and store changes, creating the identity key on first enable; audited.

    A licence for another instance id is refused unless ``replace_instance``: phones paired
    with this instance know it by its id, so switching ids means pairing them again."""
    if server_url is not None:
        server_url = validate_server_url(server_url)
    if licence_token is not None:
        licence_token = licence_token.strip()
        if licence_token:
            try:
                new_licence = parse_unverified(licence_token)
            except LicenceError as exc:
                raise SettingsError("licence_token", f"{exc}") from None
            current_id = instance_id()
            if current_id and new_licence.instance_id != current_id and not replace_instance:
                raise SettingsError(
                    "licence_token",
                    f"This licence is for instance '{new_licence.instance_id}', but this "
                    f"instance is '{current_id}', the id its paired phones know it by. Ask your "
                    f"relay operator for a licence for '{current_id}', or confirm the change "
                    "(every paired phone must pair again).",
                )
    changed: dict = {}

    def change(stored: relayenc.RelayEnc) -> relayenc.RelayEnc:
        new = stored
        if enabled is not None and enabled != stored.enabled:
            changed["enabled"] = [stored.enabled, enabled]
            new = replace(new, enabled=enabled)
        if server_url is not None and server_url != stored.server_url:
            changed["server_url"] = [stored.server_url, server_url]
            new = replace(new, server_url=server_url)
        if licence_token is not None and licence_token != stored.licence_token:
            summary = licence_summary(licence_token) or {}
            changed["licence"] = {
                "licence_token_id": summary.get("token_id", ""),
                "name": summary.get("name", ""),
            }
            new = replace(new, licence_token=licence_token)
        if (
            pairing_requires_approval is not None
            and pairing_requires_approval != stored.pairing_requires_approval
        ):
            changed["pairing_requires_approval"] = [
                stored.pairing_requires_approval,
                pairing_requires_approval,
            ]
            new = replace(new, pairing_requires_approval=pairing_requires_approval)
        if _effective(new).enabled and not new.identity_private:
            new = _with_identity(new)
            changed["identity"] = "created"
        return new

    stored = relayenc.update(change)
    if changed:
        auditing.record(auditing.SETTINGS_CHANGED, actor=actor, ip=ip, details={"changed": changed})
    return _effective(stored)
