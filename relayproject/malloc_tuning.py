"""Fixed glibc malloc thresholds for relay workers.

glibc raises its mmap and trim thresholds dynamically as large blocks are freed, so a process
moving 64-256 KiB buffers switches between two speeds (mmap/munmap and heap trimming on every
frame, or not) for minutes at a time; the spike and the records benchmark both saw it. Fixing
both thresholds at 16 MiB keeps frame-sized buffers on the heap from the first frame on.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
THRESHOLD = 16 * 1024 * 1024


def tune() -> bool:
    """Set the thresholds if this is glibc; returns whether it did."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = mallopt(M_MMAP_THRESHOLD, THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, THRESHOLD) == 1
    if not ok:
        log.warning("mallopt refused the malloc thresholds; relay speed may vary")
    return ok
