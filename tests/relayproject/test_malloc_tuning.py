"""Relay workers fix glibc's malloc thresholds, and say so when they cannot."""

import platform

import pytest

from relayproject import malloc_tuning


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_thresholds_are_set_on_glibc():
    assert malloc_tuning.tune() is True


def test_a_libc_without_mallopt_is_left_alone(monkeypatch):
    monkeypatch.setattr(malloc_tuning.ctypes.util, "find_library", lambda name: None)
    assert malloc_tuning.tune() is False
