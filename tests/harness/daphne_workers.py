"""Real daphne worker processes for end-to-end tests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(
    r"(?:Listening on TCP address [^\s:]+:|Uvicorn running on http://[^\s:]+:)(\d+)"
)


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WorkerFailed(RuntimeError):
    """A worker did not start or answer /healthz; the message carries its log."""


@dataclass
class Worker:
    """One daphne process serving the project (or a test ASGI app)."""

    name: str
    process: subprocess.Popen
    log_path: Path
    port: int = 0

    @property
    def http_url(self) -> str:
        """Base HTTP URL, e.g. http://127.0.0.1:PORT."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """Base WebSocket URL, e.g. ws://127.0.0.1:PORT."""
        return f"ws://127.0.0.1:{self.port}"

    def logs(self) -> str:
        """Everything the worker wrote so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process.poll() is None

    def signal(self, signum: int) -> None:
        """Send a signal to the worker."""
        if self.alive():
            self.process.send_signal(signum)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


def worker_env(data_dir: Path, redis_url: str | None, prefix: str, extra: dict | None) -> dict:
    """The environment a worker runs with: the test's data dir, Redis and channel prefix."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PULSE_", "PYTEST_")) and k not in ("REDIS_URL", "DATABASE_URL")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "relayproject.settings",
            "PULSE_DATA_DIR": str(data_dir),
            "PULSE_CHANNEL_PREFIX": prefix,
            "PULSE_LOG_LEVEL": "INFO",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra or {})
    return env


def migrate(env: dict) -> None:
    """Create the database the workers share."""
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise WorkerFailed(f"migrate failed:\n{result.stdout}\n{result.stderr}")


def server_command(server: str, app: str, port: int = 0) -> list[str]:
    """The command line that serves ``app`` on ``port`` (0: a free one) with daphne, uvicorn,
    or ``manage.py serve`` (daphne plus the instance's relay connector in one process)."""
    if server == "daphne":
        return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app]
    if server == "uvicorn":
        return [
            sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port),
            "--ws", "websockets-sansio", "--loop", "uvloop", "--no-access-log", app,
        ]  # fmt: skip
    if server == "serve":
        return [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
    raise ValueError(f"unknown server {server!r}: use daphne, uvicorn or serve")


def start_worker(
    name: str,
    env: dict,
    log_dir: Path,
    app: str = "relayproject.asgi:application",
    server: str = "daphne",
    port: int = 0,
) -> Worker:
    """Start one server process on ``port``, or on a free port chosen by the OS."""
    log_path = log_dir / f"{name}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - the child owns it for its lifetime
    process = subprocess.Popen(
        server_command(server, app, port),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    return Worker(name=name, process=process, log_path=log_path)


def wait_until_healthy(worker: Worker, timeout: float = 60.0, path: str = "/healthz") -> None:
    """Wait for the listening line, then for ``path`` to answer 200."""
    deadline = time.monotonic() + timeout
    while not worker.port:
        match = LISTENING.search(worker.logs())
        if match:
            worker.port = int(match.group(1))
            break
        if not worker.alive() or time.monotonic() > deadline:
            raise WorkerFailed(f"{worker.name} did not start listening:\n{worker.logs()}")
        time.sleep(0.05)
    while True:
        try:
            if httpx.get(f"{worker.http_url}{path}", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if not worker.alive() or time.monotonic() > deadline:
            raise WorkerFailed(f"{worker.name} never answered {path}:\n{worker.logs()}")
        time.sleep(0.05)
