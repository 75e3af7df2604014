"""The outbound connector's status, shared across processes through a small JSON file.

The connector (possibly a separate ``manage.py relay_connect`` process) calls :func:`publish`
on every state change and at least every 30 s; the API, the page and ``manage.py
relay_status`` call :func:`read`. A file older than ``PULSE_CONNECTOR_STATUS_STALE_SECONDS``
means the connector is not running.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

from instance import secretbox

FILE_NAME = "connector-status.json"
STATES = ("disabled", "connecting", "connected", "backoff", "error")
State = Literal["disabled", "connecting", "connected", "backoff", "error"]


@dataclass(frozen=True)
class ConnectorStatus:
    """One snapshot of the connector; times are Unix seconds."""

    state: State = "disabled"
    instance_id: str = ""
    registered: bool = False
    open_channels: int = 0
    last_error: str = ""
    next_retry_at: float | None = None
    updated_at: float = 0.0
    # Key fingerprints of devices with an open channel, so the devices list can show "online".
    online_devices: list[str] = field(default_factory=list)
    pid: int = 0
    # Filled in by read(): False when the file is missing or stale.
    running: bool = False

    def as_dict(self) -> dict:
        """Plain data for APIs and the terminal."""
        return asdict(self)


def path(directory: Path | None = None) -> Path:
    """Where the status file lives."""
    return (directory or secretbox.data_dir()) / FILE_NAME


def stale_after() -> int:
    """Seconds after which an un-updated status means the connector is not running."""
    from django.conf import settings

    return int(getattr(settings, "PULSE_CONNECTOR_STATUS_STALE_SECONDS", 90))


def publish(status: ConnectorStatus, directory: Path | None = None) -> ConnectorStatus:
    """Write ``status`` atomically (stamped with now and this pid) for other processes."""
    if status.state not in STATES:
        raise ValueError(f"connector state must be one of {', '.join(STATES)}")
    status = replace(status, updated_at=time.time(), pid=os.getpid(), running=True)
    target = path(directory)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".connector-status.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(status.as_dict(), fh)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return status


def read(directory: Path | None = None, *, now: float | None = None) -> ConnectorStatus:
    """The last published status; ``running`` is False when it is missing, unreadable or stale."""
    try:
        data = json.loads(path(directory).read_text(encoding="utf-8"))
        known = {name: data[name] for name in ConnectorStatus.__dataclass_fields__ if name in data}
        status = ConnectorStatus(**known)
    except (OSError, ValueError, TypeError):
        return ConnectorStatus()
    age = (time.time() if now is None else now) - float(status.updated_at or 0)
    return replace(status, running=0 <= age <= stale_after())


def clear(directory: Path | None = None) -> None:
    """Remove the status file (the connector stopped cleanly)."""
    with contextlib.suppress(FileNotFoundError):
        path(directory).unlink()
