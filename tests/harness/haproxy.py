"""A real HAProxy (Debian's) in front of relay workers, from deploy/haproxy/haproxy.cfg."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.harness.daphne_workers import ROOT, Worker, free_port
from tests.harness.tls import TestCertificates

CONFIG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"


class HAProxyFailed(RuntimeError):
    """HAProxy did not start or did not see its workers; the message carries its log."""


@dataclass
class HAProxy:
    """One haproxy process in the foreground, logging to a file."""

    process: subprocess.Popen
    port: int
    log_path: Path
    tls_port: int | None = None

    @property
    def http_url(self) -> str:
        """Base HTTP URL of the balancer."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """Base WebSocket URL of the balancer."""
        return f"ws://127.0.0.1:{self.port}"

    def logs(self) -> str:
        """What HAProxy logged so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_haproxy(
    workers: list[Worker],
    log_dir: Path,
    timeout: float = 30.0,
    *,
    port: int | None = None,
    tls: TestCertificates | None = None,
    tls_port: int | None = None,
) -> HAProxy:
    """Start HAProxy with the deploy config over exactly three workers (plain HTTP on
    ``port``, and TLS with ``tls``'s certificate on ``tls_port``); wait until all three pass
    their health check."""
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(binary).exists():
        raise HAProxyFailed("haproxy is not installed: apt-get install haproxy (as .ci/run does)")
    if len(workers) != 3:
        raise ValueError("deploy/haproxy/haproxy.cfg lists three workers")
    port = port or free_port()
    env = dict(os.environ, PULSE_LB_BIND=f"127.0.0.1:{port}")
    if tls is not None:
        tls_port = tls_port or free_port()
        env |= {
            "PULSE_LB_TLS_BIND": f"127.0.0.1:{tls_port}",
            "PULSE_LB_TLS_CERT": str(tls.server_pem),
        }
    for index, worker in enumerate(workers, start=1):
        env[f"PULSE_RELAY_W{index}"] = f"127.0.0.1:{worker.port}"
    log_path = log_dir / "haproxy.log"
    log = open(log_path, "ab")  # noqa: SIM115 - the child owns it
    process = subprocess.Popen(
        [binary, "-db", "-f", str(CONFIG)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    proxy = HAProxy(process, port, log_path, tls_port if tls is not None else None)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise HAProxyFailed(f"haproxy exited:\n{proxy.logs()}")
        try:
            # Round robin without ?iid=: three answers in a row means all three are up.
            if all(
                httpx.get(f"{proxy.http_url}/readyz", timeout=2).status_code == 200
                for _ in range(3)
            ):
                return proxy
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proxy.stop()
    raise HAProxyFailed(f"haproxy never passed requests to its workers:\n{proxy.logs()}")
