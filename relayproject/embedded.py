"""The all-in-one set-up of `make run`: this process's relay admits this process's instance."""

from __future__ import annotations

import logging

from django.conf import settings

from instance import relay_settings, relayenc
from relay import operator
from relayproto import licence

log = logging.getLogger(__name__)

EMBEDDED_LICENCE_DAYS = 3650


def _trusted(token: str) -> bool:
    try:
        licence.verify(token, operator.trusted_public_keys())
    except licence.LicenceError:
        return False
    return True


def provision(host: str, port: int) -> bool:
    """Give the embedded instance a licence from the embedded relay and point it there.

    Does nothing unless this process plays both roles. The first time (no licence stored) it
    also enables the connection; afterwards the owner's choices stand. Returns whether it
    changed anything.
    """
    if not {"relay", "instance"} <= set(settings.PULSE_ROLES):
        return False
    private_path, _ = operator.key_paths()
    key = operator.load_private_key() if private_path.exists() else operator.generate()
    stored = relayenc.load()
    url = f"ws://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"  # noqa: S104
    changes: dict = {}
    if not stored.licence_token or not _trusted(stored.licence_token):
        # Keep the instance id the phones paired with, when there is one.
        known = relay_settings.licence_summary(stored.licence_token) or {}
        changes["licence_token"] = licence.issue(
            key,
            name="this instance (make run)",
            days=EMBEDDED_LICENCE_DAYS,
            instance_id=known.get("instance_id") or None,
        )
        if not stored.licence_token:
            changes["enabled"] = True
    if not stored.server_url or (
        stored.server_url.startswith("ws://127.0.0.1:") and stored.server_url != url
    ):
        changes["server_url"] = url
    if not changes:
        return False
    relay_settings.update(actor="make run", **changes)
    log.info("embedded relay: instance provisioned (%s)", ", ".join(sorted(changes)))
    return True
