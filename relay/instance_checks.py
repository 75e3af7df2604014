"""System checks for the instance's secrets at rest (pulse.E010 / pulse.E011).

They stop ``migrate``/``check``/management commands, and so ``make run``, when relay.enc or
relay.key cannot be used, instead of letting the instance run with settings it cannot read.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

from relay import relayenc, secretbox


@register(Tags.security)
def check_relay_enc(app_configs=None, **kwargs) -> list:
    """relay.enc, when present, must open with relay.key (pulse.E010; key file: pulse.E011)."""
    if "instance" not in settings.PULSE_ROLES:
        return []
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
