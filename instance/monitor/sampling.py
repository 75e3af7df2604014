"""A small health sample of the instance's host: uptime, load, memory, disk, our own RSS.

Read straight from /proc and os.statvfs (Linux), so no dependency is needed; a value the
platform does not offer is None rather than an error. Every read is of an in-memory /proc file
or one statvfs call, cheap enough to run on the event loop once a second.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.conf import settings

PROC = Path("/proc")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None


def host_uptime_seconds(proc: Path = PROC) -> float | None:
    """Seconds since the host booted."""
    text = _read(proc / "uptime")
    try:
        return float(text.split()[0]) if text else None
    except (ValueError, IndexError):
        return None


def load_averages(proc: Path = PROC) -> list[float] | None:
    """The 1, 5 and 15 minute load averages."""
    text = _read(proc / "loadavg")
    try:
        return [float(value) for value in text.split()[:3]] if text else None
    except ValueError:
        return None


def _kib_fields(text: str | None, names: tuple[str, ...]) -> dict[str, int]:
    found: dict[str, int] = {}
    for line in (text or "").splitlines():
        name, _, rest = line.partition(":")
        if name in names:
            parts = rest.split()
            if parts and parts[0].isdigit():
                found[name] = int(parts[0]) * 1024  # /proc reports kB (KiB)
    return found


def memory(proc: Path = PROC) -> dict[str, int | None]:
    """Total and available memory of the host, in bytes."""
    fields = _kib_fields(_read(proc / "meminfo"), ("MemTotal", "MemAvailable"))
    return {"total_bytes": fields.get("MemTotal"), "available_bytes": fields.get("MemAvailable")}


def disk(path: Path) -> dict[str, int | None]:
    """Size and free space (for unprivileged users) of the filesystem holding ``path``."""
    try:
        stat = os.statvfs(path)
    except OSError:
        return {"total_bytes": None, "free_bytes": None}
    return {
        "total_bytes": stat.f_blocks * stat.f_frsize,
        "free_bytes": stat.f_bavail * stat.f_frsize,
    }


def process_rss_bytes(proc: Path = PROC) -> int | None:
    """Resident memory of this process."""
    return _kib_fields(_read(proc / "self" / "status"), ("VmRSS",)).get("VmRSS")


def sample() -> dict:
    """One sample, JSON-ready."""
    return {
        "time": time.time(),
        "uptime_seconds": host_uptime_seconds(),
        "load_average": load_averages(),
        "memory": memory(),
        "disk": {"path": "PULSE_DATA_DIR", **disk(Path(settings.DATA_DIR))},
        "process": {"pid": os.getpid(), "rss_bytes": process_rss_bytes()},
    }
