"""The whole product in real processes: a relay worker, home instances, a local service.

Everything the phone does goes through a CaptureProxy in front of the relay, so tests can
check what crossed the relay's port.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from relay import operator
from relayproto import licence
from tests.e2e.capture_proxy import CaptureProxy
from tests.e2e.upstream_app import MARKER
from tests.harness.daphne_workers import ROOT, Worker, start_worker, wait_until_healthy, worker_env


@dataclass
class Instance:
    """A home instance process and the owner's API token for it."""

    worker: Worker
    token: str
    data_dir: Path

    def api(self, method: str, path: str, **kwargs) -> httpx.Response:
        """Call the instance API as the owner (bearer token)."""
        return httpx.request(
            method,
            f"{self.worker.http_url}/api/{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
            **kwargs,
        )

    def status(self) -> dict:
        """The connector status the settings API reports."""
        return self.api("GET", "settings/relay/status").json()


@dataclass
class Deployment:
    """A relay behind a capture proxy, an upstream service, and a way to start instances."""

    relay: Worker
    relay_dir: Path
    proxy: CaptureProxy
    upstream: Worker
    operator_key: object
    start_relay: object
    start_instance: object

    @property
    def relay_url(self) -> str:
        """Where phones and instances reach the relay (through the proxy)."""
        return f"ws://127.0.0.1:{self.proxy.port}"


@pytest.fixture
async def deployment(daphne_workers, tmp_path, redis_server, channel_prefix):
    """Start the relay, the proxy and the upstream; yields a Deployment."""
    relay_dir = tmp_path / "relay"
    relay_dir.mkdir(mode=0o700)
    key = operator.generate(relay_dir)
    relay_env = {"PULSE_ROLES": "relay", "PULSE_RELAY_HANDSHAKE_TIMEOUT": "3"}

    def start_relay() -> Worker:
        (worker,) = daphne_workers(1, env=relay_env, data=relay_dir)
        return worker

    relay = start_relay()
    proxy = CaptureProxy(MARKER, relay.port)
    await proxy.start()
    logs = tmp_path / "logs"
    upstream = start_worker(
        "upstream", worker_env(tmp_path, None, "up", {}), logs,
        app="tests.e2e.upstream_app:app", server="uvicorn",
    )  # fmt: skip
    wait_until_healthy(upstream, path="/marker")
    counter = iter(range(100))

    def start_instance(upstream_url: str | None = None, **env) -> Instance:
        """An instance process (manage.py serve, instance role) registered with the relay."""
        name = f"instance{next(counter)}"
        data_dir = tmp_path / name
        data_dir.mkdir(mode=0o700)
        extra = {"PULSE_ROLES": "instance", **env}
        if upstream_url:
            extra["PULSE_RELAY_UPSTREAM"] = upstream_url
        full_env = worker_env(data_dir, redis_server.url, channel_prefix + name, extra)
        token = manage(full_env, "create_api_token", "--name", "e2e", "--scopes",
                       "settings:read,settings:write,devices:write,audit:read")  # fmt: skip
        (worker,) = daphne_workers(1, env=extra, data=data_dir, server="serve")
        instance = Instance(worker, token, data_dir)
        licence_token = licence.issue(key, name=name, days=1, instance_id=f"home-{name}")
        response = instance.api(
            "PUT",
            "settings/relay",
            json={"enabled": True, "server_url": f"ws://127.0.0.1:{proxy.port}",
                  "licence_token": licence_token},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        return instance

    yield Deployment(relay, relay_dir, proxy, upstream, key, start_relay, start_instance)
    await proxy.close()
    upstream.stop()


def manage(env: dict, *args: str) -> str:
    """Run a management command with ``env``; return its last output line."""
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert migrate.returncode == 0, migrate.stderr
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]
