"""Redis as operators run it for failover: a master, a replica and three Redis Sentinels
(quorum 2), all real processes from Debian's redis-server and redis-sentinel, on loopback."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.harness.daphne_workers import free_port
from tests.harness.redis_server import RedisUnavailable, find_redis_server

MASTER_NAME = "pulse"


@dataclass
class SentinelGroup:
    """The processes of one Sentinel deployment; ``kill_master`` starts a failover."""

    workdir: Path
    redis_ports: list[int]
    sentinel_ports: list[int]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """How the cluster printout names it."""
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"sentinel://{hosts}/{MASTER_NAME}"

    def env(self) -> dict:
        """What a relay worker needs to find the master through the sentinels."""
        return {
            "PULSE_REDIS_SENTINELS": ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports),
            "PULSE_REDIS_SENTINEL_MASTER": MASTER_NAME,
        }

    def master_port(self) -> int:
        """The port of the master the sentinels name now."""
        for port in self.sentinel_ports:
            try:
                client = redis.Redis(port=port, socket_timeout=1)
                _, master = client.sentinel_get_master_addr_by_name(MASTER_NAME)
                return int(master)
            except (redis.RedisError, TypeError):
                continue
        raise RedisUnavailable("no sentinel answered")

    def kill_master(self) -> int:
        """SIGKILL the current master; returns its port."""
        port = self.master_port()
        process = self.processes[f"redis-{port}"]
        process.kill()
        process.wait(timeout=10)
        return port

    def wait_for_new_master(self, old_port: int, timeout: float = 30.0) -> int:
        """Block until the sentinels name another master; returns its port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                port = self.master_port()
                if port != old_port:
                    return port
            except RedisUnavailable:
                pass
            time.sleep(0.2)
        raise RedisUnavailable(f"no failover within {timeout} s:\n{self.logs()}")

    def logs(self) -> str:
        """Every log of the group."""
        return "\n".join(
            f"--- {log.name} ---\n{log.read_text(errors='replace')}"
            for log in sorted(self.workdir.glob("*.log"))
        )

    def stop(self) -> None:
        """Stop every process and remove the files."""
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _wait_ping(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if redis.Redis(port=port, socket_timeout=1).ping():
                return
        except redis.RedisError:
            time.sleep(0.1)
    raise RedisUnavailable(f"nothing answered on port {port}")


def start_sentinel_group(timeout: float = 30.0) -> SentinelGroup:
    """A master, one replica and three sentinels watching them (down after 1 s)."""
    binary = find_redis_server()
    workdir = Path(tempfile.mkdtemp(prefix="pr-sentinel-"))
    group = SentinelGroup(workdir, [free_port(), free_port()], [free_port() for _ in range(3)])
    master = group.redis_ports[0]
    deadline = time.monotonic() + timeout
    try:
        for port in group.redis_ports:
            args = [
                binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(workdir),
                "--logfile", str(workdir / f"redis-{port}.log"),
            ]  # fmt: skip
            if port != master:
                args += ["--replicaof", "127.0.0.1", str(master)]
            group.processes[f"redis-{port}"] = subprocess.Popen(args)
            _wait_ping(port, deadline)
        for port in group.sentinel_ports:
            config = workdir / f"sentinel-{port}.conf"
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {workdir}\n"
                f"logfile {workdir / f'sentinel-{port}.log'}\n"
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master} 2\n"
                f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
                f"sentinel failover-timeout {MASTER_NAME} 10000\n"
                f"sentinel parallel-syncs {MASTER_NAME} 1\n"
            )
            group.processes[f"sentinel-{port}"] = subprocess.Popen(
                [binary, str(config), "--sentinel"]
            )
            _wait_ping(port, deadline)
        # The replica is in sync and every sentinel has found the others: a failover can run.
        while time.monotonic() < deadline:
            info = redis.Redis(port=master).info("replication")
            sentinels = [
                redis.Redis(port=p).sentinel_master(MASTER_NAME) for p in group.sentinel_ports
            ]
            if info.get("connected_slaves") == 1 and all(
                int(s.get("num-other-sentinels", 0)) == 2 for s in sentinels
            ):
                return group
            time.sleep(0.2)
        raise RedisUnavailable(f"the sentinel group did not settle:\n{group.logs()}")
    except BaseException:
        group.stop()
        raise
