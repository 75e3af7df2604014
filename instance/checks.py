"""System checks for the instance's configuration and secrets at rest, with stable ids.

pulse.E002 (relay URL), pulse.E020 (upstream), pulse.E010 / pulse.E011 (relay.enc, relay.key).
The last two stop ``migrate``/``check``/management commands, and so ``make run``, when
relay.enc or relay.key cannot be used, instead of letting the instance run with settings it
cannot read.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, register

from instance import relayenc, secretbox
from instance.tunnel.upstream import upstream_problem


@register(Tags.security)
def check_relay_enc(app_configs=None, **kwargs) -> list:
    """relay.enc, when present, must open with relay.key (pulse.E010; key file: pulse.E011)."""
    if secretbox.key_exists():
        try:
            secretbox.load_key()
        except secretbox.KeyFileError as exc:
            return [
                Error(
                    f"relay.key cannot be used: {exc}",
                    hint="Fix the key file's permissions, or restore it from your backup.",
                    id="pulse.E011",
                )
            ]
    if not relayenc.exists():
        return []
    try:
        relayenc.load()
    except relayenc.RelayEncError as exc:
        return [
            Error(
                str(exc),
                hint="Relay left the file untouched. Restore relay.enc and relay.key from the "
                "same backup, or move relay.enc away to configure the relay afresh.",
                id="pulse.E010",
            )
        ]
    return []


@register(Tags.compatibility)
def check_relay_server(app_configs=None, **kwargs) -> list:
    """PULSE_RELAY_SERVER, when set, must be a ws:// or wss:// URL with a host."""
    value = settings.PULSE_RELAY_SERVER
    if not value:
        return []
    parts = urlsplit(value)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        return [
            Error(
                f"PULSE_RELAY_SERVER={value!r} is not a WebSocket URL.",
                hint="Use ws://host[:port] or wss://host[:port], optionally with /ws/instance.",
                id="pulse.E002",
            )
        ]
    return []


@register(Tags.compatibility)
def check_relay_upstream(app_configs=None, **kwargs) -> list:
    """PULSE_RELAY_UPSTREAM, when set, must be an http:// or https:// URL with a host."""
    value = getattr(settings, "PULSE_RELAY_UPSTREAM", "")
    problem = upstream_problem(value) if value else ""
    if problem:
        return [
            Error(
                f"{problem}.",
                hint="Use the local service's base URL, e.g. http://127.0.0.1:7655, or unset it "
                "to tunnel to the instance's own app.",
                id="pulse.E020",
            )
        ]
    return []
