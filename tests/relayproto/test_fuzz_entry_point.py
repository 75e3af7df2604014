"""fuzz/fuzz_decoders.py runs every decoder for a bounded time and flags foreign exceptions."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[2] / "fuzz" / "fuzz_decoders.py"


@pytest.fixture
def fuzz_module():
    spec = importlib.util.spec_from_file_location("fuzz_decoders", FUZZ)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_it_covers_every_decoder_of_the_package(fuzz_module):
    names = set(fuzz_module.load_targets())
    for required in (
        "frames.decode_frame",
        "frames.peek_header",
        "frames.decode_credit",
        "frames.decode_ping",
        "control.decode_control",
        "control.Register.from_payload",
        "control.Drain.from_payload",
        "inner.decode_message",
        "streams.client_receive",
        "streams.server_receive",
    ):
        assert required in names
    if importlib.util.find_spec("relayproto.records"):
        assert "records.unpack_records" in names
    if importlib.util.find_spec("relayproto.handshake"):
        assert "handshake.Message1Payload.decode" in names


def test_a_short_run_is_clean(fuzz_module, capsys):
    status = fuzz_module.main(
        ["--seconds", "0.5", "--no-atheris", "--target", "inner.decode_message"]
    )
    assert status == 0
    assert "no foreign exceptions" in capsys.readouterr().out


def test_a_foreign_exception_fails_the_run(fuzz_module, monkeypatch, capsys):
    def fragile(data: bytes) -> None:
        if len(data) > 3:
            raise KeyError("a decoder bug")

    monkeypatch.setattr(fuzz_module, "load_targets", lambda: {"fragile": fragile})
    assert fuzz_module.main(["--seconds", "5", "--no-atheris"]) == 1
    assert "FUZZ FAILURE" in capsys.readouterr().out


def test_unknown_targets_are_a_usage_error(fuzz_module):
    assert fuzz_module.main(["--target", "nope", "--no-atheris"]) == 2
