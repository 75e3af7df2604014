"""The records micro-benchmark runs and prints its ours/raw ratios (no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_quick_prints_ratio_lines() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "records_bench.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for size in ("65519", "1024"):
        assert f"plaintext {size} B" in lines
    ratios = [line for line in lines if "ratio ours/raw" in line]
    assert len(ratios) == 8
    for name in ("seal ", "seal_many", "open ", "open_many"):
        assert sum(name in line for line in ratios) == 2
