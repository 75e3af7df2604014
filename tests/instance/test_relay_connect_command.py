"""manage.py relay_connect keeps the instance registered and stops cleanly on SIGTERM."""

import signal
import subprocess
import sys
import time

import pytest

from relay import operator
from relayproto import licence
from tests.harness.daphne_workers import ROOT, worker_env

pytestmark = pytest.mark.slow


def run_manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip


def test_connects_registers_and_stops_on_sigterm(daphne_workers, tmp_path):
    relay_dir = tmp_path / "data"
    relay_dir.mkdir(mode=0o700)
    key = operator.generate(relay_dir)
    (relay,) = daphne_workers(1, env={"PULSE_ROLES": "relay"})
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    env = worker_env(
        home, None, "home",
        {"PULSE_ROLES": "instance", "PULSE_RELAY_ENABLED": "true",
         "PULSE_RELAY_SERVER": f"{relay.ws_url}/ws/instance"},
    )  # fmt: skip
    assert run_manage(env, "migrate", "--no-input", "-v", "0").returncode == 0
    token = licence.issue(key, name="home", days=1, instance_id="home-9")
    store = (
        "from instance import relay_settings; "
        f"relay_settings.update(licence_token={token!r}, actor='test')"
    )
    assert run_manage(env, "shell", "-c", store).returncode == 0
    process = subprocess.Popen(
        [sys.executable, "manage.py", "relay_connect"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = run_manage(env, "relay_status").stdout
            if "connected" in status and "home-9" in status:
                break
            time.sleep(0.5)
        assert "home-9" in status and "connected" in status, status
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
        assert process.returncode == 0, output
        assert "Relay connector stopped." in output
        assert "disabled" in run_manage(env, "relay_status").stdout
    finally:
        if process.poll() is None:
            process.kill()
