"""Prometheus metrics of this relay worker (each worker exposes its own at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

SOCKETS = Gauge("relay_sockets", "Open relay sockets by kind.", ["kind"])
CHANNELS = Gauge("relay_channels", "Open channels whose app end is on this worker.")
FRAMES = Counter("relay_frames_forwarded_total", "Frames forwarded, by direction.", ["direction"])
BYTES = Counter(
    "relay_bytes_forwarded_total", "DATA payload bytes forwarded, by direction.", ["direction"]
)
CLOSES = Counter(
    "relay_closes_total", "Sockets and channels closed, by reason.", ["what", "reason"]
)
ADMISSION_FAILURES = Counter(
    "relay_admission_failures_total", "Refused registrations and connects, by code.", ["code"]
)
DELIVERIES = Counter(
    "relay_deliveries_total", "Frames handed to the peer's worker, by path.", ["path"]
)
HANDSHAKE_FAILURES = Counter(
    "relay_handshake_timeouts_total", "Channels closed because the handshake did not complete."
)

# Resolved once: labels() costs a dict lookup and a lock on every call.
FRAMES_APP_TO_INSTANCE = FRAMES.labels("app_to_instance")
FRAMES_INSTANCE_TO_APP = FRAMES.labels("instance_to_app")
BYTES_APP_TO_INSTANCE = BYTES.labels("app_to_instance")
BYTES_INSTANCE_TO_APP = BYTES.labels("instance_to_app")
DELIVERED_LOCAL = DELIVERIES.labels("local")
DELIVERED_CROSS_WORKER = DELIVERIES.labels("cross_worker")
EVENTS = Counter("relay_events_total", "Relay events (relay.events), by name.", ["event"])
LIMITS_HIT = Counter(
    "relay_limits_hit_total", "Sockets and channels turned away by a limit, by limit.", ["limit"]
)
HINT_MISMATCHES = Counter(
    "relay_instance_hint_mismatches_total",
    "Sockets whose ?iid= named another instance than they used (a balancer hashing on it then "
    "puts them on the wrong worker), by kind.",
    ["kind"],
)
