"""The pairing app's answer to what the instance's responder asks about devices and pairings."""

from __future__ import annotations

from instance.devices import KnownDevice, PairedDevice, PairingRefused
from pairing import devices, sessions
from pairing.models import Device, DeviceError


class PairingDirectory:
    """Implements ``instance.devices.DeviceDirectory`` over the pairing models."""

    def psk_for_pairing_attempt(self, pairing_id: bytes) -> bytes:
        """Count one attempt at the session and return its secret (raises PairingError)."""
        return sessions.psk_for_pairing_attempt(pairing_id)

    def active_device(self, static_public: bytes) -> KnownDevice | None:
        """The active device with this key, noting that it was seen."""
        psk = devices.psk_for_device(static_public)
        if psk is None:
            return None
        device = devices.device_for_key(static_public)
        if device is None:  # revoked and deleted between the two reads
            return None
        devices.touch_device(static_public)
        return KnownDevice(device.pk, device.name, device.fingerprint, psk)

    def complete_pairing(
        self,
        pairing_id: bytes,
        static_public: bytes,
        name: str,
        platform: str,
        sas: str,
        device_psk: bytes,
    ) -> PairedDevice:
        """Use up the session and store the device; bad input reads as a refused pairing."""
        try:
            device, _ = sessions.complete_pairing(
                pairing_id, static_public, name, platform, sas, device_psk
            )
        except DeviceError as exc:
            raise PairingRefused(str(exc)) from exc
        return PairedDevice(device.pk, device.status == Device.ACTIVE)

    def active_device_ids(self, device_ids: set[int]) -> set[int]:
        """Which of these devices are still active."""
        return set(Device.objects.active().filter(pk__in=device_ids).values_list("pk", flat=True))

    def routing_hashes(self) -> list[str]:
        """Routing-token hashes of active devices and live pairing sessions."""
        return sessions.routing_hashes()
