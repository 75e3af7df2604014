"""Micro-benchmark: SecureChannel record sealing and opening against raw ChaCha20-Poly1305.

Run as ``.venv/bin/python bench/records_bench.py [--quick]``. Rates use the process's CPU
time, so they are per core; the headline is the ratio ours / raw, measured in the same run.

open_many keeps a whole batch of 64 KiB plaintexts alive at once, which is where glibc's
dynamic mmap/trim thresholds bite (the heap top is trimmed and regrown every batch); compare a
run with MALLOC_TRIM_THRESHOLD_=16777216 MALLOC_MMAP_THRESHOLD_=16777216 in the environment.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cryptography
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from relayproto.records import MAX_PLAINTEXT, SecureChannel

BATCH = 8  # 8 full records make a ~512 KiB DATA payload, under the 1 MiB frame bound


def _measure(step: Callable[[], int], budget: float, repeats: int) -> float:
    """Best records-per-CPU-second of ``repeats`` runs of about ``budget`` seconds each."""
    best = 0.0
    for _ in range(repeats):
        done = 0
        spent = 0.0
        while spent < budget:
            start = time.process_time()
            done += step()
            spent += time.process_time() - start
        best = max(best, done / spent)
    return best


def _pair() -> tuple[SecureChannel, SecureChannel]:
    k1, k2 = os.urandom(32), os.urandom(32)
    return SecureChannel(k1, k2), SecureChannel(k2, k1)


def bench_size(size: int, budget: float, repeats: int) -> list[tuple[str, float, float | None]]:
    """Rates for one plaintext size: (label, records/s, ratio to raw or None)."""
    data = os.urandom(size)
    raw = ChaCha20Poly1305(os.urandom(32))
    nonce = struct.pack("<4xQ", 7)
    raw_ct = raw.encrypt(nonce, data, None)
    per_step = max(1, (1 << 20) // size)

    def raw_encrypt() -> int:
        for _ in range(per_step):
            raw.encrypt(nonce, data, None)
        return per_step

    def raw_decrypt() -> int:
        for _ in range(per_step):
            raw.decrypt(nonce, raw_ct, None)
        return per_step

    sender, _ = _pair()

    def seal() -> int:
        for _ in range(per_step):
            sender.seal(data)
        return per_step

    opener_state = {"pair": _pair()}

    def open_records() -> int:
        # Sealing the next batch happens outside the timed region.
        tx, rx = opener_state["pair"]
        records = [tx.seal(data) for _ in range(per_step)]
        start = time.process_time()
        for record in records:
            rx.open(record)
        opener_state["elapsed"] = time.process_time() - start
        return per_step

    many_sender, _ = _pair()
    chunks = [data] * BATCH

    def seal_many() -> int:
        for _ in range(max(1, per_step // BATCH)):
            many_sender.seal_many(chunks)
        return max(1, per_step // BATCH) * BATCH

    many_state = {"pair": _pair()}

    def open_many() -> int:
        tx, rx = many_state["pair"]
        payloads = [tx.seal_many(chunks) for _ in range(max(1, per_step // BATCH))]
        start = time.process_time()
        for payload in payloads:
            rx.open_many(payload)
        many_state["elapsed"] = time.process_time() - start
        return len(payloads) * BATCH

    enc = _measure(raw_encrypt, budget, repeats)
    dec = _measure(raw_decrypt, budget, repeats)
    return [
        ("raw ChaCha20Poly1305.encrypt", enc, None),
        ("SecureChannel.seal", _measure(seal, budget, repeats), enc),
        (f"SecureChannel.seal_many x{BATCH}", _measure(seal_many, budget, repeats), enc),
        ("raw ChaCha20Poly1305.decrypt", dec, None),
        ("SecureChannel.open", _timed_only(open_records, opener_state, budget, repeats), dec),
        (
            f"SecureChannel.open_many x{BATCH}",
            _timed_only(open_many, many_state, budget, repeats),
            dec,
        ),
    ]


def _timed_only(step: Callable[[], int], state: dict, budget: float, repeats: int) -> float:
    """Like _measure, but counts only the time the step reports as its timed region."""
    best = 0.0
    for _ in range(repeats):
        done, spent = 0, 0.0
        while spent < budget:
            done += step()
            spent += state["elapsed"]
        best = max(best, done / spent)
    return best


def main(argv: list[str] | None = None) -> int:
    """Print the table for 64 KiB (65519 B) and 1 KiB plaintexts."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny run, for a smoke test")
    args = parser.parse_args(argv)
    budget, repeats = (0.02, 1) if args.quick else (0.6, 3)
    print(
        f"records bench: Python {sys.version.split()[0]}, cryptography {cryptography.__version__},"
        f" CPU time of one core, best of {repeats}"
    )
    for size in (MAX_PLAINTEXT, 1024):
        print(f"plaintext {size} B")
        for label, rate, raw_rate in bench_size(size, budget, repeats):
            line = f"  {label:34s} {rate:12,.0f} rec/s {rate * size / 1e6:9,.1f} MB/s"
            if raw_rate is not None:
                line += f"   ratio ours/raw {rate / raw_rate:.3f}"
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
