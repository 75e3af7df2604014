"""TLS terminated at HAProxy with a private CA: the connector and the reference client trust
the CA file they are given, pair and call through wss://; without it they refuse the relay."""

from __future__ import annotations

import asyncio

import pytest

from relayclient import ClientError, RelayClient
from tests.cluster.phones import call, pair_phone, worker_holding_instance

pytestmark = pytest.mark.slow


async def test_pairing_and_calls_through_wss_with_the_ca_file(cluster, phones, tmp_path):
    running = await asyncio.to_thread(cluster, tls=True)
    assert running.relay_url.startswith("wss://")
    status = running.instance.status()
    assert status["registered"]  # the connector dialled wss:// with PULSE_RELAY_CA_FILE
    (phone,) = await phones(running, 1)  # paired from a deep link naming the wss:// relay
    assert await call(phone) == 200
    worker_holding_instance(running)  # and its socket reached a worker through HAProxy

    stranger = RelayClient(tmp_path / "stranger.json")  # the system's CAs only
    link = await asyncio.to_thread(running.instance.api, "POST", "onboarding/deep-link")
    with pytest.raises(ClientError) as caught:
        await stranger.pair(link.json()["deep_link"], name="home", device_name="x")
    assert caught.value.code == "RELAY_UNREACHABLE"
    assert "CERTIFICATE_VERIFY_FAILED" in caught.value.message
    await stranger.aclose()


def test_a_ca_file_that_is_not_a_certificate_is_refused_with_its_name(tmp_path):
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    with pytest.raises(ValueError, match=r"ca\.pem"):
        RelayClient(tmp_path / "state.json", ca_file=bogus)


async def test_another_phone_pairs_and_both_work(cluster, phones, tmp_path):
    running = await asyncio.to_thread(cluster, tls=True)
    first, second = await phones(running, 2)
    assert await asyncio.gather(call(first), call(second)) == [200, 200]
    third = RelayClient(tmp_path / "third.json", ca_file=running.ca_file)
    await pair_phone(running.instance, third, "home")
    assert await call(third) == 200
    await third.aclose()
