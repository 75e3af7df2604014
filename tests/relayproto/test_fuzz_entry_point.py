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


def test_the_mutation_engine_counts_inputs_per_decoder(fuzz_module, capsys):
    status = fuzz_module.main(
        ["--seconds", "1", "--engine", "mutation", "--min-inputs", "1000", "--seed", "3"]
    )
    out = capsys.readouterr().out
    assert status == 0
    counts = [
        int(line.split()[-2].replace(",", ""))
        for line in out.splitlines()
        if "inputs" in line and line.startswith("  ")
    ]
    assert len(counts) == len(fuzz_module.load_targets()) and min(counts) >= 1000


def test_a_minimum_the_time_cannot_reach_is_exit_3(fuzz_module, capsys):
    status = fuzz_module.main(
        [
            "--seconds",
            "0.2",
            "--engine",
            "mutation",
            "--min-inputs",
            str(10**9),
            "--target",
            "frames.decode_frame",
        ]
    )
    assert status == 3
    assert "not every decoder reached" in capsys.readouterr().out


def test_mutations_stay_near_valid_encodings(fuzz_module):
    import random

    rng = random.Random(5)
    seed = bytes(range(40))
    near = [fuzz_module._mutate(rng, [seed]) for _ in range(2000)]
    assert sum(m[:4] == seed[:4] for m in near) > 800  # most keep the valid header
    assert len(set(near)) > 1500
