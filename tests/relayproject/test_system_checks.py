"""Configuration mistakes surface as system checks with stable ids."""

from django.core.checks import run_checks


def check_ids():
    return {message.id for message in run_checks()}


def test_default_configuration_passes_checks():
    assert not {i for i in check_ids() if i.startswith("pulse.")}


def test_unknown_role_is_pulse_e001(settings):
    settings.PULSE_ROLES = ["relay", "proxy"]
    assert "pulse.E001" in check_ids()


def test_empty_roles_is_pulse_e001(settings):
    settings.PULSE_ROLES = []
    assert "pulse.E001" in check_ids()


def test_non_websocket_relay_server_is_pulse_e002(settings):
    settings.PULSE_RELAY_SERVER = "https://relay.example.org"
    assert "pulse.E002" in check_ids()


def test_websocket_relay_server_passes(settings):
    settings.PULSE_RELAY_SERVER = "wss://relay.example.org/ws/instance"
    assert "pulse.E002" not in check_ids()


def test_bad_log_level_is_pulse_e003(settings):
    settings.LOG_LEVEL = "LOUD"
    assert "pulse.E003" in check_ids()


def test_relay_only_worker_on_in_memory_layer_warns_pulse_w001(settings):
    settings.PULSE_ROLES = ["relay"]
    assert "pulse.W001" in check_ids()


def test_frames_over_daphnes_message_limit_warn_pulse_w002(settings):
    settings.PULSE_MAX_FRAME_BYTES = 1 << 20
    assert "pulse.W002" in check_ids()
