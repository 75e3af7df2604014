"""Fixtures for client tests: a fake instance behind a fake relay, and a client wired to them."""

from __future__ import annotations

import pytest

from relayclient import RelayClient, StateFile
from tests.relayclient.fake_instance import FakeInstance, FakeRelay, factory


@pytest.fixture
def instance() -> FakeInstance:
    """The home side, answering pairings and paired devices."""
    return FakeInstance()


@pytest.fixture
def relay(instance) -> FakeRelay:
    """The relay in between, minus the sockets."""
    return FakeRelay(instance)


@pytest.fixture
def state_file(tmp_path) -> StateFile:
    """A state file of this test's own."""
    return StateFile(tmp_path / "config" / "client.json")


@pytest.fixture
async def client(state_file, relay):
    """A client reaching the fake instance; closed after the test."""
    relay_client = RelayClient(
        state_file, connect=factory(relay), handshake_timeout=2, pair_result_timeout=2
    )
    yield relay_client
    await relay_client.aclose()


@pytest.fixture
async def paired(client, instance) -> RelayClient:
    """A client already paired (and active) with the fake instance."""
    outcome = await client.pair(instance.invite().to_uri(), device_name="test phone")
    assert outcome.status == "active"
    return client
