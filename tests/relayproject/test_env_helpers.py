"""The typed environment readers accept good values and name the variable on bad ones."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from relayproject.env import env_bool, env_int, env_list, env_path, env_secret, env_str


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "yes", "on", " On "])
def test_env_bool_reads_true_spellings(raw):
    assert env_bool("X", False, environ={"X": raw}) is True


@pytest.mark.parametrize("raw", ["0", "false", "no", "off", ""])
def test_env_bool_reads_false_spellings(raw):
    assert env_bool("X", True, environ={"X": raw}) is False


def test_env_bool_uses_default_when_unset():
    assert env_bool("X", True, environ={}) is True


def test_env_bool_rejects_other_words_naming_the_variable():
    with pytest.raises(ImproperlyConfigured, match="PULSE_RELAY_ENABLED='maybe'"):
        env_bool("PULSE_RELAY_ENABLED", environ={"PULSE_RELAY_ENABLED": "maybe"})


def test_env_int_parses_and_bounds():
    assert env_int("N", 5, environ={"N": "1_024"}) == 1024
    assert env_int("N", 5, environ={}) == 5
    with pytest.raises(ImproperlyConfigured, match="N=0 is below the minimum 1"):
        env_int("N", 5, minimum=1, environ={"N": "0"})
    with pytest.raises(ImproperlyConfigured, match="N=99 is above the maximum 10"):
        env_int("N", 5, maximum=10, environ={"N": "99"})


def test_env_int_rejects_non_numbers_naming_the_variable():
    with pytest.raises(ImproperlyConfigured, match="PORT='eighty' is not a whole number"):
        env_int("PORT", 80, environ={"PORT": "eighty"})


def test_env_list_splits_and_drops_blanks():
    assert env_list("L", environ={"L": "relay, instance,,"}) == ["relay", "instance"]
    assert env_list("L", ["a"], environ={}) == ["a"]


def test_env_str_strips_and_defaults():
    assert env_str("S", "d", environ={"S": "  v "}) == "v"
    assert env_str("S", "d", environ={}) == "d"


def test_env_secret_reads_from_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cret\n")
    assert env_secret("K", environ={"K_FILE": str(secret_file)}) == "s3cret"


def test_env_secret_prefers_neither_when_both_are_set(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("a")
    with pytest.raises(ImproperlyConfigured, match="either K or K_FILE"):
        env_secret("K", environ={"K": "b", "K_FILE": str(secret_file)})


def test_env_secret_names_an_unreadable_file(tmp_path):
    with pytest.raises(ImproperlyConfigured, match=r"K_FILE=.*cannot be read"):
        env_secret("K", environ={"K_FILE": str(tmp_path / "missing")})


def test_env_secret_rejects_an_empty_file(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ImproperlyConfigured, match="is empty"):
        env_secret("K", environ={"K_FILE": str(empty)})


def test_env_secret_defaults_when_unset():
    assert env_secret("K", "fallback", environ={}) == "fallback"


def test_env_path_resolves_relative_to_base(tmp_path):
    assert env_path("D", tmp_path / "x", base=tmp_path, environ={"D": "data"}) == tmp_path / "data"
    assert env_path("D", tmp_path / "x", base=tmp_path, environ={}) == tmp_path / "x"
