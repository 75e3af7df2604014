"""Rate limits that hold across all relay workers: token buckets kept in Redis.

A per-worker bucket gives a client N times the allowance behind N workers, and a balancer that
hashes on the instance id spreads one address's sockets over all of them. So the bucket of a
key (a client address) lives in Redis, refilled and taken in one Lua call with Redis's own
clock, and every worker asks the same one.

When Redis does not answer, the worker falls back to a bucket of its own holding only its share
of the allowance (the limit divided by the workers it last saw alive): failing closed, so an
outage never multiplies what an address may do.
"""

from __future__ import annotations

import logging
import math

from relayproto.ratelimit import KeyedBuckets

log = logging.getLogger(__name__)

# KEYS[1] the bucket; ARGV: capacity, refill per second, ttl seconds. Returns 0 when allowed,
# else the milliseconds until a token will be there.
_TAKE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local capacity, rate, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, at = capacity, t end
tokens = math.min(capacity, tokens + (t - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate * 1000) end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', t)
redis.call('EXPIRE', KEYS[1], ttl)
return wait
"""


class SharedBuckets:
    """``per_minute`` events per key across every worker sharing the Redis (0: no limit)."""

    def __init__(self, redis, prefix: str, name: str, per_minute: int) -> None:
        self.per_minute = per_minute
        self.prefix = f"{prefix}:limit:{name}"
        self._redis = redis
        self._take = redis.register_script(_TAKE) if redis is not None else None
        self.workers = 1
        self._fallback = KeyedBuckets(per_minute)
        self.fallback_used = 0

    def set_workers(self, count: int) -> None:
        """How many workers share the allowance (the fallback's divisor)."""
        count = max(1, count)
        if count != self.workers:
            self.workers = count
            self._fallback = KeyedBuckets(max(1, math.floor(self.per_minute / count)))

    async def retry_after(self, key: str) -> float:
        """Count one event for ``key``: 0 when allowed, else seconds until one would be."""
        if self.per_minute <= 0:
            return 0.0
        if self._take is not None:
            try:
                # A full bucket refills in a minute; it may go when untouched for two.
                wait_ms = await self._take(
                    keys=[f"{self.prefix}:{key}"], args=[self.per_minute, self.per_minute / 60, 120]
                )
                return int(wait_ms) / 1000
            except Exception as exc:  # Redis away: this worker's share only
                self.fallback_used += 1
                if self.fallback_used == 1 or self.fallback_used % 1000 == 0:
                    log.warning(
                        "shared rate limit unavailable (%s): limiting %s locally to 1/%d",
                        exc,
                        self.prefix,
                        self.workers,
                    )
        return self._fallback.retry_after(key)

    async def allow(self, key: str) -> bool:
        """Count one event for ``key``; False when its bucket is empty."""
        return await self.retry_after(key) == 0.0
