"""Writing secrets to disk: atomically, private to their owner, durable once written."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_private_file(
    target: Path, payload: bytes, *, rename: Callable[[str, Path], None] | None = None
) -> None:
    """Replace ``target`` with ``payload`` atomically, mode 0600.

    A temporary file in the same directory is written and fsynced, then renamed over the target
    (``rename`` defaults to ``os.replace``; tests pass a seam to crash at that point), then the
    directory is fsynced so the rename itself survives a power cut. On any failure the old file
    is untouched and the temporary file is removed.
    """
    directory = Path(target).parent
    descriptor, temp_name = tempfile.mkstemp(
        dir=directory, prefix=f".{Path(target).name}.", suffix=".tmp"
    )
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        (rename or os.replace)(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    with contextlib.suppress(OSError):  # some filesystems cannot fsync a directory
        directory_descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(directory_descriptor)
        finally:
            os.close(directory_descriptor)
