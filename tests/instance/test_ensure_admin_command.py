"""ensure_admin makes the first admin login once, with a given or generated password."""

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def run(**kwargs) -> str:
    out = StringIO()
    call_command("ensure_admin", stdout=out, **kwargs)
    return out.getvalue()


def test_generates_and_prints_a_password_once(monkeypatch):
    monkeypatch.delenv("PULSE_ADMIN_PASSWORD", raising=False)
    output = run()
    password = re.search(r"password: (\S+)", output).group(1)
    assert authenticate(username="admin", password=password) is not None
    assert "nothing to do" in run()
    assert get_user_model().objects.count() == 1


def test_uses_the_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("PULSE_ADMIN_PASSWORD", "a long chosen passphrase")
    output = run()
    assert "a long chosen passphrase" not in output
    assert authenticate(username="admin", password="a long chosen passphrase") is not None


def test_leaves_an_existing_admin_alone(owner):
    assert "nothing to do" in run()
    assert list(get_user_model().objects.values_list("username", flat=True)) == ["owner"]


def test_a_weak_password_from_the_environment_is_refused(monkeypatch):
    from django.core.management.base import CommandError

    monkeypatch.setenv("PULSE_ADMIN_PASSWORD", "password")
    with pytest.raises(CommandError, match="PULSE_ADMIN_PASSWORD is too weak"):
        run()
    assert not get_user_model().objects.exists()
