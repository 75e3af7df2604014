"""Paired devices as the responder and the API look them up (their actions are on the model)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from instance import secretbox
from instance import status as connector_status
from pairing.models import Device
from pairing.sessions import DEVICE_PSK_PURPOSE

_TOUCH_RESOLUTION = timedelta(seconds=30)


def psk_for_device(static_public: bytes) -> bytes | None:
    """The psk of an active device with this static key; None for unknown, pending or revoked."""
    if len(static_public) != 32:
        return None
    device = Device.objects.active().with_key(static_public).first()
    if device is None:
        return None
    return secretbox.open_sealed(bytes(device.psk_sealed), purpose=DEVICE_PSK_PURPOSE)


def device_for_key(static_public: bytes) -> Device | None:
    """The device row with this static key, whatever its status."""
    return Device.objects.with_key(static_public).first()


def touch_device(static_public: bytes, *, when: datetime | None = None) -> bool:
    """Note that a device was seen (written at most every 30 s); returns whether it wrote."""
    when = when or timezone.now()
    return bool(
        Device.objects.active()
        .with_key(static_public)
        .exclude(last_seen_at__gt=when - _TOUCH_RESOLUTION)
        .update(last_seen_at=when)
    )


def online_fingerprints() -> set[str]:
    """Fingerprints of devices the running connector reports with an open channel."""
    status = connector_status.read()
    return set(status.online_devices) if status.running else set()
