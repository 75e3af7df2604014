"""Where the relay's two sockets live, and the instance id both carry in their URL.

Both the instance's connector (``/ws/instance``) and a phone (``/ws/app``) add the instance
they are about to use as the query parameter ``iid``. The relay does not need it (REGISTER and
CONNECT say the same), but a load balancer in front of several relay workers can read it and
hash on it, so that an instance and its phones land on the same worker and their channels
stay off Redis (docs/protocol.md, "Socket URLs"). It names no secret.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

INSTANCE_PATH = "/ws/instance"
APP_PATH = "/ws/app"
INSTANCE_PARAMETER = "iid"


def socket_url(relay_url: str, path: str, instance_id: str) -> str:
    """``<relay>/<path>?iid=<instance id>`` from a relay's base URL (or one that ends in the
    path already); any query the relay URL had is replaced."""
    parts = urlsplit(relay_url.strip())
    base = parts.path.rstrip("/")
    if not base.endswith(path):
        base += path
    query = f"{INSTANCE_PARAMETER}={quote(instance_id, safe='')}" if instance_id else ""
    return urlunsplit((parts.scheme, parts.netloc, base, query, ""))


def instance_hint(query_string: bytes | str) -> str | None:
    """The ``iid`` a socket's URL named, if exactly one (from an ASGI scope's query string)."""
    text = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
    values = parse_qs(text, keep_blank_values=False).get(INSTANCE_PARAMETER, [])
    return values[0] if len(values) == 1 else None
