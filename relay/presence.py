"""Where each registered instance is connected: process-local, or shared through Redis."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

# Compare-and-delete, so a socket that lost its registration never removes the newer one.
_DELETE_IF_OURS = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Address:
    """Where a relay socket lives: the worker's inbox channel, the socket id, the worker id."""

    inbox: str
    socket: str
    worker: str

    def encode(self) -> str:
        """Compact text form for Redis values."""
        return f"{self.worker}|{self.inbox}|{self.socket}"

    @classmethod
    def decode(cls, text: str | bytes) -> Address:
        """Inverse of encode()."""
        value = text.decode() if isinstance(text, bytes) else text
        worker, inbox, socket = value.split("|", 2)
        return cls(inbox=inbox, socket=socket, worker=worker)


class LocalPresence:
    """Presence for a single process (the in-memory channel layer): nothing to share."""

    shared = False

    async def claim(self, instance_id: str, address: Address) -> Address | None:
        """Nothing to claim across processes; the hub handles local duplicates."""
        return None

    async def release(self, instance_id: str, address: Address) -> None:
        """Nothing to release."""

    async def lookup(self, instance_id: str) -> Address | None:
        """No remote instances exist in a single process."""
        return None

    async def refresh(self, instances: dict[str, Address], worker_id: str) -> None:
        """Nothing to refresh."""

    async def dead_workers(self, worker_ids: set[str]) -> set[str]:
        """No other workers exist."""
        return set()

    async def ping(self) -> bool:
        """Always ready."""
        return True

    async def close(self) -> None:
        """Nothing to close."""


def redis_client(host: dict):
    """An asyncio Redis client for a channel-layer host description; with Sentinel it asks
    the sentinels for the master on every new connection, so it follows a failover."""
    import redis.asyncio as aioredis
    from redis.asyncio.sentinel import Sentinel

    timeouts = {"socket_timeout": 5, "socket_connect_timeout": 5}
    if "address" in host:
        return aioredis.Redis.from_url(host["address"], protocol=2, **timeouts)
    sentinel = Sentinel(host["sentinels"], sentinel_kwargs=dict(timeouts), **timeouts)
    extra = {"password": host["password"]} if host.get("password") else {}
    return sentinel.master_for(host["master_name"], protocol=2, **extra)


class RedisPresence:
    """Instance locations and worker liveness in Redis, with expiry refreshed by the hub."""

    shared = True

    def __init__(self, host: dict, prefix: str, instance_ttl: int, worker_ttl: int) -> None:
        """``host`` is settings.PULSE_REDIS_HOST: {"address": url} or Sentinel's
        {"sentinels": [(host, port)], "master_name": name}, as the channel layer takes it."""
        self._redis = redis_client(host)
        self.prefix = prefix
        self.instance_ttl = instance_ttl
        self.worker_ttl = worker_ttl
        self._delete_if_ours = self._redis.register_script(_DELETE_IF_OURS)

    @property
    def redis(self):
        """The client, for other shared state of the relay (relay.shared_limits)."""
        return self._redis

    async def pubsub_buffer_limit(self) -> int:
        """Redis's hard output-buffer limit for pub/sub subscribers, in bytes (0: none)."""
        reply = await self._redis.config_get("client-output-buffer-limit")
        value = reply.get("client-output-buffer-limit") or reply.get(b"client-output-buffer-limit")
        tokens = (value.decode() if isinstance(value, bytes) else str(value)).split()
        index = tokens.index("pubsub")
        return int(tokens[index + 1])

    async def live_workers(self) -> int:
        """How many workers renewed their liveness key lately."""
        count = 0
        async for _key in self._redis.scan_iter(match=self._worker_key("*"), count=100):
            count += 1
        return count

    def _instance_key(self, instance_id: str) -> str:
        return f"{self.prefix}:presence:{instance_id}"

    def _worker_key(self, worker_id: str) -> str:
        return f"{self.prefix}:worker:{worker_id}"

    async def claim(self, instance_id: str, address: Address) -> Address | None:
        """Record this instance here; return the address it had before, if another."""
        old = await self._redis.set(
            self._instance_key(instance_id), address.encode(), ex=self.instance_ttl, get=True
        )
        if old is None:
            return None
        previous = Address.decode(old)
        return None if previous == address else previous

    async def release(self, instance_id: str, address: Address) -> None:
        """Forget the instance, unless a newer registration took its place."""
        await self._delete_if_ours(keys=[self._instance_key(instance_id)], args=[address.encode()])

    async def lookup(self, instance_id: str) -> Address | None:
        """Where the instance is, if it is registered on a live worker."""
        value = await self._redis.get(self._instance_key(instance_id))
        if value is None:
            return None
        address = Address.decode(value)
        if not await self._redis.exists(self._worker_key(address.worker)):
            return None
        return address

    async def refresh(self, instances: dict[str, Address], worker_id: str) -> None:
        """Renew this worker's liveness and its instances' presence in one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(self._worker_key(worker_id), str(time.time()), ex=self.worker_ttl)
            for instance_id, address in instances.items():
                pipe.set(self._instance_key(instance_id), address.encode(), ex=self.instance_ttl)
            await pipe.execute()

    async def dead_workers(self, worker_ids: set[str]) -> set[str]:
        """Which of these workers have stopped renewing their liveness key."""
        if not worker_ids:
            return set()
        ordered = sorted(worker_ids)
        values = await self._redis.mget([self._worker_key(w) for w in ordered])
        return {worker for worker, value in zip(ordered, values, strict=True) if value is None}

    async def ping(self) -> bool:
        """Whether Redis answers."""
        return bool(await self._redis.ping())

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
