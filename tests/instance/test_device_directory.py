"""The responder asks the device directory the pairing app registers; without one it says so."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from instance import devices
from pairing.directory import PairingDirectory


def test_the_pairing_app_registers_its_directory():
    assert isinstance(devices.directory(), PairingDirectory)


def test_no_directory_names_the_fix(monkeypatch):
    monkeypatch.setattr(devices, "_directory", None)
    with pytest.raises(ImproperlyConfigured, match="add 'pairing' to INSTALLED_APPS"):
        devices.directory()


def test_an_unknown_key_is_no_device(db, data_dir):
    assert devices.directory().active_device(bytes(32)) is None


def test_a_pending_device_is_not_active(pending_device):
    assert devices.directory().active_device(pending_device.public_key_bytes) is None


def test_an_active_device_comes_with_its_psk_and_fingerprint(paired_device):
    device, _private, psk = paired_device
    known = devices.directory().active_device(device.public_key_bytes)
    assert (known.device_id, known.psk, known.fingerprint) == (device.pk, psk, device.fingerprint)
    assert devices.directory().active_device_ids({device.pk, 999}) == {device.pk}
