"""Phones for the cluster tests: reference clients paired with the cluster's home instance."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from relayclient import RelayClient
from tests.cluster.phones import call, pair_phone
from tests.harness.cluster import Cluster


@pytest.fixture
async def phones(tmp_path) -> AsyncIterator[Callable]:
    """``await phones(cluster, n)``: n reference clients paired and approved (closed after)."""
    clients: list[RelayClient] = []

    async def make(cluster: Cluster, count: int) -> list[RelayClient]:
        assert cluster.instance is not None
        made = []
        for _ in range(count):
            client = RelayClient(tmp_path / f"phone{len(clients)}.json", ca_file=cluster.ca_file)
            clients.append(client)
            await pair_phone(cluster.instance, client, "home")
            assert await call(client) == 200
            made.append(client)
        return made

    yield make
    for client in clients:
        await client.aclose()
