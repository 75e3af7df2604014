"""relay_keygen writes a private operator key the relay then trusts."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from relay import operator


def test_writes_a_private_key_and_prints_the_public_key(relay_data_dir):
    out = StringIO()
    call_command("relay_keygen", stdout=out)
    private_path, public_path = operator.key_paths(relay_data_dir)
    assert private_path.stat().st_mode & 0o777 == 0o600
    printed = out.getvalue().strip().splitlines()[-1]
    assert public_path.read_text().strip() == printed
    assert [operator.encode_public_key(k) for k in operator.trusted_public_keys()] == [printed]


def test_refuses_to_overwrite_without_force(relay_data_dir):
    call_command("relay_keygen", stdout=StringIO())
    before = operator.key_paths(relay_data_dir)[0].read_bytes()
    with pytest.raises(CommandError, match="--force"):
        call_command("relay_keygen", stdout=StringIO())
    assert operator.key_paths(relay_data_dir)[0].read_bytes() == before
    call_command("relay_keygen", "--force", stdout=StringIO())
    assert operator.key_paths(relay_data_dir)[0].read_bytes() != before


def test_bad_configured_public_key_names_the_setting(relay_data_dir, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.PULSE_RELAY_OPERATOR_PUBLIC_KEYS = ["not-a-key"]
    with pytest.raises(ImproperlyConfigured, match="PULSE_RELAY_OPERATOR_PUBLIC_KEYS"):
        operator.trusted_public_keys()
