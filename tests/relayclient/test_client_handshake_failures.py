"""What the user is told when the relay or the instance does not play along."""

from __future__ import annotations

import pytest

from relayclient import ClientError, RelayClient
from relayproto import handshake
from tests.relayclient.fake_instance import FakeRelay, factory


async def call(client):
    """One GET, body read."""
    response = await client.request(None, "GET", "/")
    return await response.read()


async def test_an_answer_not_from_the_pinned_key_is_instance_key_mismatch(paired, instance):
    instance.impostor = True
    with pytest.raises(ClientError) as caught:
        await call(paired)
    assert caught.value.code == "INSTANCE_KEY_MISMATCH"


async def test_a_changed_device_psk_is_instance_key_mismatch(paired, instance):
    [device] = instance.devices.values()
    device.psk = handshake.generate_psk()
    with pytest.raises(ClientError) as caught:
        await call(paired)
    assert caught.value.code == "INSTANCE_KEY_MISMATCH"


async def test_silence_for_an_active_device_means_unknown_device(paired, instance):
    instance.devices.clear()  # revoked and deleted on the instance
    with pytest.raises(ClientError) as caught:
        await call(paired)
    assert caught.value.code == "UNKNOWN_DEVICE"
    assert "pair again" in caught.value.message


async def test_silence_without_a_relay_timeout_is_reported_the_same(paired, instance):
    instance.devices.clear()
    instance.silence_close_after = 30  # the relay never closes: our own timeout fires
    paired.handshake_timeout = 0.2
    with pytest.raises(ClientError) as caught:
        await call(paired)
    assert caught.value.code == "UNKNOWN_DEVICE"


async def test_device_revoked_mid_call_is_device_revoked(paired, instance):
    instance.revoke_after_open = True
    with pytest.raises(ClientError) as caught:
        await call(paired)
    assert caught.value.code == "DEVICE_REVOKED"


async def test_an_offline_instance_is_instance_offline(paired, relay):
    relay.instance = None
    with pytest.raises(ClientError) as caught:
        await call(paired)
    assert caught.value.code == "INSTANCE_OFFLINE"
    assert "running" in caught.value.message


async def test_relay_refusals_keep_the_relay_code(paired, relay):
    relay.refuse = "RATE_LIMITED"
    with pytest.raises(ClientError) as caught:
        await call(paired)
    assert caught.value.code == "RATE_LIMITED"


async def test_a_relay_that_does_not_list_the_device_means_unknown_or_revoked(paired, relay):
    relay.refuse = "UNAUTHORIZED"
    with pytest.raises(ClientError) as caught:
        await call(paired)
    assert caught.value.code == "UNKNOWN_DEVICE" and "pair again" in caught.value.message


async def test_calls_present_the_routing_token_derived_from_the_device_psk(paired, relay):
    from relayproto.routing import routing_token

    relay.refuse = "RATE_LIMITED"
    with pytest.raises(ClientError):
        await call(paired)
    psk = paired.state.load().resolve(None).device_psk
    assert relay.routing_tokens[-1] == routing_token(psk)


async def test_a_draining_relay_is_retried_once_on_a_new_socket(paired, relay, instance):
    async def handler(stream):
        await stream.send_response(200, end=True)

    instance.handler = handler
    attempts = []
    original = relay.open_channel

    async def drain_first(instance_id, **kwargs):
        attempts.append(instance_id)
        if len(attempts) == 1:
            from relayproto.connection import RelayError

            raise RelayError("SERVER_DRAINING", "going away", retry_after=0)
        return await original(instance_id, **kwargs)

    relay.open_channel = drain_first
    assert await call(paired) == b""
    assert len(attempts) == 2


async def test_a_relay_that_cannot_be_reached_is_relay_unreachable(state_file, instance):
    async def refuse(url):
        raise OSError("connection refused")

    paired = RelayClient(state_file, connect=factory(FakeRelay(instance)), handshake_timeout=2)
    await paired.pair(instance.invite().to_uri())
    offline = RelayClient(state_file, connect=refuse)
    with pytest.raises(ClientError) as caught:
        await call(offline)
    assert caught.value.code == "RELAY_UNREACHABLE"
    assert "ws://relay.test:8000/ws/app" in caught.value.message


async def test_an_unknown_alias_is_not_paired(paired):
    with pytest.raises(ClientError) as caught:
        await paired.request("nowhere", "GET", "/")
    assert caught.value.code == "NOT_PAIRED"
