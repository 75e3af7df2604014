"""Prometheus metrics of this relay worker (each worker exposes its own at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

SOCKETS = Gauge("relay_sockets", "Open relay sockets by kind.", ["kind"])
# path: "local" when both ends of the channel are sockets of this worker, "cross_worker" when
# the other end is on another worker (its frames go through Redis).
CHANNELS = Gauge(
    "relay_channels", "Open channels whose app end is on this worker, by path.", ["path"]
)
CHANNELS_OPENED = Counter(
    "relay_channels_opened_total", "Channels opened by apps on this worker, by path.", ["path"]
)
FRAMES = Counter(
    "relay_frames_forwarded_total",
    "DATA frames forwarded, by direction and path.",
    ["direction", "path"],
)
BYTES = Counter(
    "relay_bytes_forwarded_total",
    "DATA payload bytes forwarded, by direction and path.",
    ["direction", "path"],
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

OUTPUT_STALLS = Counter(
    "relay_output_stalls_total",
    "Sockets that passed the output high-water mark (the relay held their credit).",
)
REDIS_ERRORS = Counter(
    "relay_redis_errors_total",
    "Failed Redis calls (channel layer and presence), by operation.",
    ["op"],
)
DRAINING = Gauge(
    "relay_draining",
    "1 from the moment this worker starts draining (/readyz answers 503), else 0.",
)
REDIS_PUBSUB_LIMIT = Gauge(
    "relay_redis_pubsub_buffer_limit_bytes",
    "Redis's client-output-buffer-limit for pub/sub subscribers as read at start (0: none or "
    "unreadable); below PUBSUB_WINDOWS windows, Redis cuts a busy worker's inbox off.",
)
INBOX_BYTES = Gauge(
    "relay_inbox_bytes",
    "Bytes of frames from other workers waiting in this worker's inbox "
    "(at most PULSE_RELAY_INBOX_CAPACITY).",
)
INBOX_RESETS = Counter(
    "relay_inbox_resets_total",
    "Channels reset with RELAY_OVERLOADED because a frame between workers could not be "
    "delivered, by reason (full: this worker's inbox was at capacity; lost: Redis dropped it).",
    ["reason"],
)
WORKER = Gauge("relay_worker_info", "This worker's id (the value is always 1).", ["worker_id"])

PATHS = ("local", "cross_worker")
# Resolved once: labels() costs a dict lookup and a lock on every call. Indexed by
# "is the peer on another worker" (False: local, True: cross_worker).
FRAMES_APP_TO_INSTANCE = {cross: FRAMES.labels("app_to_instance", PATHS[cross]) for cross in (0, 1)}
FRAMES_INSTANCE_TO_APP = {cross: FRAMES.labels("instance_to_app", PATHS[cross]) for cross in (0, 1)}
BYTES_APP_TO_INSTANCE = {cross: BYTES.labels("app_to_instance", PATHS[cross]) for cross in (0, 1)}
BYTES_INSTANCE_TO_APP = {cross: BYTES.labels("instance_to_app", PATHS[cross]) for cross in (0, 1)}
CHANNELS_BY_PATH = {cross: CHANNELS.labels(PATHS[cross]) for cross in (0, 1)}
OPENED_BY_PATH = {cross: CHANNELS_OPENED.labels(PATHS[cross]) for cross in (0, 1)}
# Every series exists from the start (labels() creates it), so rates and ratios have a zero.
for _op in ("channel_send", "channel_receive", "presence"):
    REDIS_ERRORS.labels(_op)
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
