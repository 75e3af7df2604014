"""What the Settings → Relay page shows, as named parts, and how changes reach it.

Each part is a function that returns plain JSON data. The instance registers its own (the
relay connection); the apps above it, which the instance may not import, register theirs in
their ``AppConfig.ready`` (pairing: devices and open pairings; audit: the newest event). The
page renders the first snapshot on the server, so nothing jumps when the script starts, and
the page's event stream (instance.pages.events) sends a part again whenever it changed. The
connector may run in another process, so the stream compares snapshots rather than waiting
for in-process signals.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Part = Callable[[], Any]

_parts: dict[str, Part] = {}


def register(name: str, part: Part) -> None:
    """Add (or replace) a named part of the page."""
    _parts[name] = part


def names() -> list[str]:
    """The registered parts, in registration order."""
    return list(_parts)


def snapshot() -> dict[str, Any]:
    """Every part's current data (a part that fails reports its error instead)."""
    data: dict[str, Any] = {}
    for name, part in _parts.items():
        try:
            data[name] = part()
        except Exception as exc:  # one broken part must not blank the page
            data[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return data


def encode(value: Any) -> str:
    """The JSON text of a part, as the page and the event stream send it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def changes(previous: dict[str, str], current: dict[str, Any]) -> list[tuple[str, str]]:
    """The parts whose JSON differs from ``previous`` (name → JSON), updating it in place."""
    changed = []
    for name, value in current.items():
        text = encode(value)
        if previous.get(name) != text:
            previous[name] = text
            changed.append((name, text))
    return changed
