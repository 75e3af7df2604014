"""The "relay" part of Settings → Relay: settings, licence and the connector's live status,
with the last error in plain words and what to do about it."""

from __future__ import annotations

from instance import relay_settings, relayenc
from instance import status as connector_status

# What each relay error code means for the owner, and what fixes it.
ADVICE = {
    "LICENSE_INVALID": "The relay does not accept this licence. Paste the licence token your "
    "relay operator gave you.",
    "LICENSE_EXPIRED": "The licence has expired. Ask your relay operator for a new one and "
    "paste it below.",
    "LICENSE_REVOKED": "The relay operator revoked this licence. Ask them for a new one.",
    "FEATURE_MISSING": "This licence does not include the relay. Ask your relay operator for a "
    "licence with the relay feature.",
    "DUPLICATE_INSTANCE": "Another process connected with this instance's licence. Stop the "
    "other copy of this instance.",
    "RATE_LIMITED": "The relay asked this instance to slow down; it retries by itself.",
    "SERVER_DRAINING": "The relay is restarting; the instance reconnects by itself.",
    "RELAY_UNREACHABLE": "The relay cannot be reached. Check the relay URL and this machine's "
    "internet connection; the instance keeps retrying.",
}

STATE_WORDS = {
    "connected": "Connected",
    "connecting": "Connecting",
    "backoff": "Disconnected",
    "error": "Disconnected",
    "disabled": "Disabled",
}


def advice_for(error: str) -> str:
    """What to do about a connector error (its text starts with the relay's error code)."""
    code = error.split(":", 1)[0].strip()
    return ADVICE.get(code, "The instance retries by itself." if error else "")


def relay_part() -> dict:
    """Settings, identity, licence and connector status, as the page shows them."""
    try:
        current = relay_settings.current()
    except relayenc.RelayEncError as exc:
        return {"problem": str(exc)}
    status = connector_status.read()
    if not current.enabled:
        state = "disabled"
    elif not status.running:
        state = "not_running"
    else:
        state = status.state
    words = STATE_WORDS.get(state, "Not running")
    licence = current.licence
    error = status.last_error if current.enabled and state != "connected" else ""
    if state == "not_running":
        error = error or "The relay connector is not running."
    return {
        "enabled": current.enabled,
        "server_url": current.server_url,
        "overrides": {o["field"]: o["variable"] for o in current.overrides},
        "instance_id": current.instance_id,
        "identity_fingerprint": current.identity_fingerprint,
        "pairing_requires_approval": current.pairing_requires_approval,
        "licence": licence,
        "state": state,
        "state_words": words,
        "registered": bool(status.running and status.registered),
        "open_channels": status.open_channels if status.running else 0,
        "devices_online": len(status.online_devices) if status.running else 0,
        "last_error": error,
        "advice": (
            "Start Relay with the instance role (make run, or manage.py relay_connect)."
            if state == "not_running"
            else advice_for(error)
        ),
        "next_retry_at": status.next_retry_at if state in ("backoff", "error") else None,
    }
