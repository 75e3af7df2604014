"""issue_license prints a token, on its last line, that the relay accepts."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from relay import operator
from relayproto import licence


def issue(*args) -> str:
    out = StringIO()
    call_command("issue_license", *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def test_prints_a_token_the_operator_key_verifies(operator_key):
    token = issue("--name", "cabin", "--days", "30")
    verified = licence.verify(token, operator.trusted_public_keys())
    assert verified.name == "cabin" and "relay" in verified.features


def test_instance_id_and_features_can_be_chosen(operator_key):
    token = issue("--name", "n", "--days", "1", "--instance-id", "my-home", "--features", "relay,x")
    parsed = licence.parse_unverified(token)
    assert parsed.instance_id == "my-home" and set(parsed.features) == {"relay", "x"}


def test_without_an_operator_key_says_to_run_relay_keygen(relay_data_dir):
    with pytest.raises(CommandError, match="relay_keygen"):
        issue("--name", "n", "--days", "1")


def test_nonsense_validity_is_refused(operator_key):
    with pytest.raises(CommandError, match="positive number of days"):
        issue("--name", "n", "--days", "0")


def test_caps_can_be_sold_with_the_licence(operator_key):
    out = StringIO()
    call_command(
        "issue_license", "--name", "n", "--days", "1", "--max-channels", "4",
        "--bytes-per-second", "500000", stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert "limits {'channels': 4, 'bytes_per_second': 500000}" in text
    parsed = licence.parse_unverified(text.strip().splitlines()[-1])
    assert parsed.max_channels == 4 and parsed.bytes_per_second == 500000


def test_nonsense_caps_are_refused(operator_key):
    with pytest.raises(CommandError, match="positive integer"):
        issue("--name", "n", "--days", "1", "--max-channels", "0")
