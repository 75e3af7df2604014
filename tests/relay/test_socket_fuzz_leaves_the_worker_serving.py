"""fuzz/fuzz_sockets.py against a real `manage.py serve`: thousands of random and mutated
messages on /ws/app and /ws/instance, after which the worker still pairs a phone and answers
it through the relay, with no traceback in its log."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "fuzz" / "fuzz_sockets.py"


def test_a_short_socket_fuzz_leaves_the_worker_serving_a_pairing(capsys):
    spec = importlib.util.spec_from_file_location("fuzz_sockets", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--seconds", "8", "--seed", "7"]) == 0
    out = capsys.readouterr().out
    assert "paired call 200" in out and "0 tracebacks" in out
    sent = int(out.split("fuzz: ")[1].split(" messages")[0].replace(",", ""))
    assert sent > 5000
