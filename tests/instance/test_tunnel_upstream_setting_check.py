"""PULSE_RELAY_UPSTREAM must be an http(s) URL with a host: pulse.E020 otherwise."""

import pytest
from django.core.checks import run_checks


def check_ids():
    return {message.id for message in run_checks()}


@pytest.mark.parametrize(
    "value", ["ftp://nas.local", "127.0.0.1:7655", "http://", "http://host:99999", "http://h/?q=1"]
)
def test_a_bad_upstream_is_pulse_e020(settings, value):
    settings.PULSE_RELAY_UPSTREAM = value
    assert "pulse.E020" in check_ids()


@pytest.mark.parametrize("value", ["", "http://127.0.0.1:7655", "https://pulse.lan/base/"])
def test_no_upstream_or_a_good_one_passes(settings, value):
    settings.PULSE_RELAY_UPSTREAM = value
    assert "pulse.E020" not in check_ids()
