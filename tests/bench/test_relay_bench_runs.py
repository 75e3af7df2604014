"""The relay benchmark runs end to end and prints its ratios (no timing is asserted)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_relay_bench_quick_prints_ratios_for_each_path():
    result = subprocess.run(
        [sys.executable, "bench/relay_bench.py", "--quick", "--e2e", "--servers", "daphne"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("one-way bulk, 8 MiB, E2E records")
    for path in ("direct TCP", "direct WebSocket", "daphne, one worker", "daphne, two workers"):
        row = next(line for line in lines if line.startswith(path))
        ratio = float(row.split()[-4] if "ms" in row else row.split()[-3])
        assert ratio > 0
