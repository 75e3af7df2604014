"""The one rule for a caller's address, shared by the relay's sockets and the instance's API.

Without a proxy in front, the address is the TCP peer's. Behind a load balancer that the
operator trusts (``PULSE_TRUST_X_FORWARDED_FOR=true``) it is the last ``X-Forwarded-For`` hop:
the one that proxy appended. Earlier hops came from the client and are not to be believed, so
rate limits and the audit trail never key on them. Framework-free: callers pass the header.
"""

from __future__ import annotations


def client_address(
    peer: str | None, forwarded_for: str | bytes | None, *, trust_proxy: bool
) -> str | None:
    """The caller's address: ``peer``, or the last X-Forwarded-For hop when the proxy is trusted."""
    if trust_proxy and forwarded_for:
        text = (
            forwarded_for.decode("latin-1") if isinstance(forwarded_for, bytes) else forwarded_for
        )
        hops = [hop.strip() for hop in text.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return peer or None
