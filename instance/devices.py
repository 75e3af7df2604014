"""What the responder needs to know about devices and pairings, and who provides it.

The responder (this app) decides, for each channel, which psk to answer with: a paired
device's, or a pairing session's secret. The devices and sessions are the pairing app's, and
the pairing app depends on this one, so the responder does not import it: it asks the
:class:`DeviceDirectory` that the pairing app registers in its ``AppConfig.ready``. A process
without a directory refuses every channel with a message naming the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured


class PairingRefused(Exception):
    """A pairing handshake that must get no answer (unknown, expired, used, too many tries)."""

    code = "pairing_failed"


@dataclass(frozen=True)
class KnownDevice:
    """An active paired device, as the responder needs it."""

    device_id: int
    name: str
    fingerprint: str
    psk: bytes


@dataclass(frozen=True)
class PairedDevice:
    """The outcome of a completed pairing: the new device and whether it may connect yet."""

    device_id: int
    active: bool


class DeviceDirectory(Protocol):
    """The devices and pairing sessions of this instance (implemented by the pairing app)."""

    def psk_for_pairing_attempt(self, pairing_id: bytes) -> bytes:
        """Count one handshake attempt and return the pairing secret; raise PairingRefused."""
        ...

    def active_device(self, static_public: bytes) -> KnownDevice | None:
        """The active device with this static key (None for unknown, pending or revoked),
        noting that it was seen."""
        ...

    def complete_pairing(
        self,
        pairing_id: bytes,
        static_public: bytes,
        name: str,
        platform: str,
        sas: str,
        device_psk: bytes,
    ) -> PairedDevice:
        """Store the phone that finished the pairing handshake; raise PairingRefused."""
        ...

    def active_device_ids(self, device_ids: set[int]) -> set[int]:
        """Which of these devices are still active (the others' channels must close)."""
        ...

    def routing_hashes(self) -> list[str]:
        """Hashes of the routing tokens the relay should admit for this instance."""
        ...


_directory: DeviceDirectory | None = None


def register(directory: DeviceDirectory) -> None:
    """Install the directory the responder asks (called by the pairing app when it loads)."""
    global _directory
    _directory = directory


def directory() -> DeviceDirectory:
    """The registered directory; a clear error when no app provides one."""
    if _directory is None:
        raise ImproperlyConfigured(
            "No device directory is registered: add 'pairing' to INSTALLED_APPS (the instance "
            "role does so in relayproject.settings)."
        )
    return _directory
