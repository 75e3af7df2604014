"""Process-local rate limiting: token buckets and per-key counters, the project's one limiter.

The relay uses it for connects per address, app sockets per address and bandwidth per
instance; the instance's tunnel for requests per paired device. Framework-free.
"""

from __future__ import annotations

import time
from collections import OrderedDict


class TokenBucket:
    """A token bucket; ``delay_for(n)`` takes n tokens and says how long to wait for them."""

    __slots__ = ("capacity", "rate", "tokens", "updated")

    def __init__(self, rate: float, capacity: float | None = None) -> None:
        self.rate = float(rate)
        self.capacity = float(capacity if capacity is not None else rate)
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def try_take(self, amount: float = 1.0) -> bool:
        """Take tokens if there are enough now; never goes into debt."""
        self._refill(time.monotonic())
        if self.tokens >= amount:
            self.tokens -= amount
            return True
        return False

    def delay_for(self, amount: float) -> float:
        """Take tokens, going into debt if needed; return seconds to wait before proceeding."""
        self._refill(time.monotonic())
        self.tokens -= amount
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class KeyedBuckets:
    """One token bucket per key (e.g. client IP or device), keeping at most ``max_keys`` recent
    keys; ``per_minute`` events each, in bursts up to the same number. 0 means no limit."""

    def __init__(self, per_minute: int, max_keys: int = 100_000) -> None:
        self.per_minute = per_minute
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def retry_after(self, key: str) -> float:
        """Count one event for ``key``: 0 when allowed, else the seconds until one would be."""
        if self.per_minute <= 0:
            return 0.0
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.capacity)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        if bucket.try_take():
            return 0.0
        return max((1.0 - bucket.tokens) / bucket.rate, 0.001)

    def allow(self, key: str) -> bool:
        """Count one event for ``key``; False when its bucket is empty."""
        return self.retry_after(key) == 0.0


class ConcurrencyCounter:
    """Counts open things per key (e.g. sockets per IP) against a ceiling."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: dict[str, int] = {}

    def acquire(self, key: str) -> bool:
        """Count one more for ``key`` unless that would pass the limit."""
        count = self._counts.get(key, 0)
        if count >= self.limit:
            return False
        self._counts[key] = count + 1
        return True

    def release(self, key: str) -> None:
        """Count one fewer for ``key``."""
        count = self._counts.get(key, 0) - 1
        if count <= 0:
            self._counts.pop(key, None)
        else:
            self._counts[key] = count
