"""A whole relay cluster on loopback: Redis, three relay workers, HAProxy, one home instance.

``make cluster`` runs this module in the foreground (``python -m tests.harness.cluster``): it
prints the URLs and how to pair a phone, streams every process's log with its name in front,
and stops them all on Ctrl-C. The tests start the very same cluster through the ``cluster``
fixture (tests/conftest.py), so what a developer pokes at is what the failure tests break.

Worker ports are chosen once, so a worker restarted (rolling upgrade, after SIGKILL) comes back
at the address HAProxy has for it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.harness.daphne_workers import (
    ROOT,
    Worker,
    free_port,
    migrate,
    start_worker,
    wait_until_healthy,
    worker_env,
)
from tests.harness.haproxy import HAProxy, start_haproxy
from tests.harness.redis_server import RedisServer, start_redis
from tests.harness.sentinel import SentinelGroup, start_sentinel_group
from tests.harness.tls import TestCertificates, make_test_certificates

WORKERS = 3
# Seconds a draining worker fails /readyz before sending DRAIN: more than HAProxy's checks
# (every 1 s, down after 2 failures) need to mark it down.
DRAIN_NOTICE = 3
INSTANCE_SCOPES = "settings:read,settings:write,devices:write,audit:read"


@dataclass
class HomeInstance:
    """The home instance process (``manage.py serve``, instance role) and its owner's token."""

    worker: Worker
    data_dir: Path
    token: str
    admin_password: str
    env: dict
    instance_id: str = ""

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
        """The connector's status as the settings API reports it."""
        return self.api("GET", "settings/relay/status").json()

    def wait_registered(self, timeout: float = 30.0) -> dict:
        """Block until the connector is registered with the relay."""
        deadline = time.monotonic() + timeout
        status: dict = {}
        while time.monotonic() < deadline:
            status = self.status()
            if status.get("registered"):
                return status
            time.sleep(0.2)
        raise AssertionError(f"the instance never registered: {status}\n{self.worker.logs()}")


@dataclass
class Cluster:
    """Everything running, with handles to break and mend each part."""

    base: Path
    redis: RedisServer | SentinelGroup
    workers: list[Worker]
    worker_env: dict
    proxy: HAProxy
    certificates: TestCertificates | None
    operator_key: object
    instance: HomeInstance | None = None
    generations: list[int] = field(default_factory=lambda: [0] * WORKERS)

    @property
    def relay_url(self) -> str:
        """Where phones and instances reach the relay: the balancer (wss:// with TLS)."""
        if self.certificates is not None:
            return f"wss://127.0.0.1:{self.proxy.tls_port}"
        return self.proxy.ws_url

    @property
    def instance_id(self) -> str:
        """The home instance's id (from its licence)."""
        assert self.instance is not None
        return self.instance.instance_id

    @property
    def ca_file(self) -> Path | None:
        """The CA that signed the balancer's certificate (None without TLS)."""
        return self.certificates.ca_file if self.certificates else None

    def metrics(self) -> list[str]:
        """Each running worker's /metrics text (an empty string for one that is down)."""
        texts = []
        for worker in self.workers:
            try:
                texts.append(httpx.get(f"{worker.http_url}/metrics", timeout=5).text)
            except httpx.HTTPError:
                texts.append("")
        return texts

    # --- breaking and mending -------------------------------------------------------------------
    def kill_worker(self, index: int) -> None:
        """SIGKILL one worker (no drain, no goodbye)."""
        worker = self.workers[index]
        worker.process.kill()
        worker.process.wait(timeout=10)

    def stop_worker(self, index: int, timeout: float = 60.0) -> int | None:
        """Stop one worker gracefully (SIGTERM: readiness fails, DRAIN, then exit)."""
        return self.workers[index].stop(timeout=timeout)

    def start_worker(self, index: int) -> Worker:
        """Start worker ``index`` again on its port (a new process: an upgraded one)."""
        self.generations[index] += 1
        old = self.workers[index]
        worker = start_worker(
            f"relay{index + 1}.{self.generations[index]}",
            self.worker_env,
            self.base / "logs",
            port=old.port,
        )
        wait_until_healthy(worker, path="/readyz")
        self.workers[index] = worker
        return worker

    def restart_balancer(self) -> None:
        """Stop HAProxy and start it again on the same ports."""
        self.proxy.stop()
        self.proxy = start_haproxy(
            self.workers,
            self.base / "logs",
            port=self.proxy.port,
            tls=self.certificates,
            tls_port=self.proxy.tls_port,
        )

    def stop(self) -> None:
        """Stop every process (instance first, Redis last)."""
        if self.instance is not None:
            self.instance.worker.stop()
        self.proxy.stop()
        for worker in self.workers:
            worker.stop()
        self.redis.stop()

    def logs(self) -> str:
        """Every process's log, for a failure report."""
        parts = [f"--- haproxy ---\n{self.proxy.logs()}"]
        parts += [f"--- {w.name} (port {w.port}) ---\n{w.logs()}" for w in self.workers]
        if self.instance is not None:
            parts.append(f"--- instance ---\n{self.instance.worker.logs()}")
        return "\n".join(parts)


def start_cluster(
    base: Path,
    *,
    tls: bool = False,
    with_instance: bool = True,
    redis: RedisServer | SentinelGroup | None = None,
    relay_env: dict | None = None,
    instance_env: dict | None = None,
) -> Cluster:
    """Start Redis (a private one unless given: a RedisServer or a SentinelGroup), three relay
    workers, HAProxy and, unless
    ``with_instance`` is False, one home instance registered through the balancer."""
    from relay import operator

    base.mkdir(parents=True, exist_ok=True)
    (base / "logs").mkdir(exist_ok=True)
    relay_dir = base / "relay"
    relay_dir.mkdir(mode=0o700, exist_ok=True)
    key = operator.generate(relay_dir)
    redis = redis or start_redis()
    prefix = f"c{secrets.token_hex(4)}"
    env = worker_env(
        relay_dir,
        None,
        prefix,
        {
            **redis.env(),
            "PULSE_ROLES": "relay",
            "PULSE_TRUST_X_FORWARDED_FOR": "true",
            "PULSE_RELAY_DRAIN_NOTICE": str(DRAIN_NOTICE),
            # Every phone and the instance come from 127.0.0.1 here; real ones have addresses
            # of their own, each with the whole allowance.
            "PULSE_RELAY_CONNECTS_PER_IP_PER_MINUTE": "100000",
            **(relay_env or {}),
        },
    )
    workers: list[Worker] = []
    proxy = None
    try:
        for index in range(WORKERS):
            workers.append(
                start_worker(f"relay{index + 1}.0", env, base / "logs", port=free_port())
            )
        for worker in workers:
            wait_until_healthy(worker, path="/readyz")
        certificates = make_test_certificates(base / "tls") if tls else None
        proxy = start_haproxy(workers, base / "logs", tls=certificates)
        cluster = Cluster(base, redis, workers, env, proxy, certificates, key)
        if with_instance:
            cluster.instance = start_home_instance(cluster, base / "home", instance_env or {})
    except BaseException:
        if proxy is not None:
            proxy.stop()
        for worker in workers:
            worker.stop()
        redis.stop()
        raise
    return cluster


def start_home_instance(cluster: Cluster, data_dir: Path, extra: dict) -> HomeInstance:
    """A home instance (``manage.py serve``) whose connector dials the balancer."""
    from relayproto import licence

    data_dir.mkdir(mode=0o700, exist_ok=True)
    password = secrets.token_urlsafe(12)
    env = worker_env(
        data_dir,
        None,
        "home",
        {
            "PULSE_ROLES": "instance",
            "PULSE_ADMIN_PASSWORD": password,
            **({"PULSE_RELAY_CA_FILE": str(cluster.ca_file)} if cluster.ca_file else {}),
            **extra,
        },
    )
    migrate(env)
    token = _manage(env, "create_api_token", "--name", "cluster", "--scopes", INSTANCE_SCOPES)
    _manage(env, "ensure_admin")
    worker = start_worker("instance", env, cluster.base / "logs", server="serve", port=free_port())
    wait_until_healthy(worker)
    instance_id = f"home-{secrets.token_hex(3)}"
    home = HomeInstance(worker, data_dir, token, password, env, instance_id)
    response = home.api(
        "PUT",
        "settings/relay",
        json={
            "enabled": True,
            "server_url": cluster.relay_url,
            "licence_token": licence.issue(
                cluster.operator_key, name="cluster home", days=30, instance_id=instance_id
            ),
        },
    )
    if response.status_code != 200:
        worker.stop()
        raise RuntimeError(f"could not configure the instance: {response.text}")
    home.wait_registered()
    return home


def _manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else ""


# --- make cluster ---------------------------------------------------------------------------------
def _follow(paths: dict[str, Path], stop: threading.Event) -> None:
    """Print new lines of each log with its name in front, until ``stop``."""
    offsets = dict.fromkeys(paths, 0)
    while not stop.is_set():
        for name, path in list(paths.items()):
            if not path.exists():
                continue
            with path.open("rb") as handle:
                handle.seek(offsets[name])
                data = handle.read()
            if not data:
                continue
            complete = data.rfind(b"\n") + 1
            offsets[name] += complete
            for line in data[:complete].decode(errors="replace").splitlines():
                if '"GET /readyz' in line:  # HAProxy's health checks, every second
                    continue
                print(f"{name:>9} | {line}", flush=True)
        stop.wait(0.3)


def main(argv: list[str] | None = None) -> int:
    """``make cluster``: start the cluster, print how to use it, follow the logs."""
    parser = argparse.ArgumentParser(
        prog="make cluster",
        description="Redis, three relay workers, HAProxy and one home instance on loopback.",
    )
    parser.add_argument("--tls", action="store_true", help="terminate TLS at HAProxy too")
    parser.add_argument(
        "--sentinel",
        action="store_true",
        help="Redis Sentinel (a master, a replica, three sentinels) instead of one Redis",
    )
    parser.add_argument(
        "--dir", type=Path, default=ROOT / ".cluster", help="state and logs (default .cluster/)"
    )
    args = parser.parse_args(argv)
    base = args.dir / time.strftime("%Y%m%d-%H%M%S")
    print(f"starting the cluster in {base} …", flush=True)
    redis = start_sentinel_group() if args.sentinel else None
    cluster = start_cluster(base, tls=args.tls, redis=redis)
    home = cluster.instance
    assert home is not None
    ca = f" --ca-file {cluster.ca_file}" if cluster.ca_file else ""
    print(
        f"""
Relay cluster up (Ctrl-C stops everything):
  balancer        {cluster.relay_url}   (stats of each worker: /metrics, /readyz)
  relay workers   {", ".join(w.http_url for w in cluster.workers)}
  redis           {cluster.redis.url}
  home instance   {home.worker.http_url}/settings/relay   login admin / {home.admin_password}

Pair a phone: open Settings → Relay above, press "Pair a phone", then scan the QR code, or
copy the pulse:// link and run
  .venv/bin/python -m relayclient{ca} pair 'pulse://…' --name home
  .venv/bin/python -m relayclient{ca} request GET /api/monitor/sample --server home
then approve the device on the page, comparing the 6-digit code.
""",
        flush=True,
    )
    logs = {"haproxy": cluster.proxy.log_path, "instance": home.worker.log_path}
    logs |= {f"relay{i + 1}": w.log_path for i, w in enumerate(cluster.workers)}
    stop = threading.Event()
    follower = threading.Thread(target=_follow, args=(logs, stop), daemon=True)
    follower.start()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while True:
            time.sleep(1)
            dead = [w.name for w in cluster.workers if not w.alive()]
            if dead or not home.worker.alive():
                print(f"a process exited: {dead or ['instance']}; stopping", flush=True)
                return 1
    except KeyboardInterrupt:
        print("\nstopping the cluster …", flush=True)
        return 0
    finally:
        stop.set()
        cluster.stop()


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
