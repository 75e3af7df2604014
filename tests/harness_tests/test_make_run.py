"""`make run` serves /healthz within a minute and stops cleanly on Ctrl-C."""

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.harness.daphne_workers import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_make_run_answers_healthz_and_stops_on_sigint(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "REDIS_URL"))}
    env.update({"PORT": str(port), "PULSE_DATA_DIR": str(tmp_path / "data")})
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["make", "run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        body = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                body = response.json()
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert body is not None, log.read_text()
        assert body["status"] == "ok"
        assert "password:" in log.read_text()  # the first run prints the admin login once
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=20) in (0, -signal.SIGINT, 130), log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
