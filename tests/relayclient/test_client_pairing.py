"""Pairing from a link: keys pinned and stored, the code shown early, every outcome handled."""

from __future__ import annotations

import pytest

from relayclient import ClientError
from relayproto.inner import PairStatus


async def test_active_pairing_saves_the_pinned_key_and_the_device_psk(client, instance):
    shown = []
    outcome = await client.pair(
        instance.invite().to_uri(), name="home", device_name="Ana's phone", on_sas=shown.append
    )
    assert outcome.server == "home" and outcome.status == "active"
    assert shown == [outcome.sas] == instance.sas_seen
    [server] = client.servers()
    assert server.instance_public_key == instance.public_key
    [device] = instance.devices.values()
    assert server.device_psk == device.psk
    assert device.name == "Ana's phone"
    assert device.platform.startswith("relayclient-")
    assert server.status == "active" and server.alias == "home"


async def test_alias_defaults_to_the_instance_id(client, instance):
    outcome = await client.pair(instance.invite().to_uri())
    assert outcome.server == instance.instance_id


async def test_pending_pairing_is_saved_and_works_once_approved(client, instance):
    instance.pair_answer = PairStatus.PENDING
    outcome = await client.pair(instance.invite().to_uri())
    assert outcome.status == "pending"
    assert client.server().status == "pending"

    with pytest.raises(ClientError) as caught:
        await client.request(None, "GET", "/")
    assert caught.value.code == "DEVICE_PENDING"
    assert "approve" in caught.value.message

    async def handler(stream):
        await stream.send_response(204, end=True)

    instance.handler = handler
    instance.approve_all()
    response = await client.request(None, "GET", "/")
    assert response.status == 204
    await response.aclose()
    assert client.server().status == "active"


async def test_refused_pairing_discards_the_device(client, instance):
    instance.pair_answer = PairStatus.REFUSED
    with pytest.raises(ClientError) as caught:
        await client.pair(instance.invite().to_uri())
    assert caught.value.code == "PAIRING_REFUSED"
    assert client.servers() == []


async def test_a_used_link_gets_silence_reported_as_pairing_used(client, instance):
    link = instance.invite().to_uri()
    await client.pair(link)
    with pytest.raises(ClientError) as caught:
        await client.pair(link, name="again")
    assert caught.value.code == "PAIRING_USED"
    assert [s.alias for s in client.servers()] == [instance.instance_id]


async def test_no_pairing_result_leaves_the_device_pending(client, instance):
    instance.pair_answer = None
    client.pair_result_timeout = 0.2
    with pytest.raises(ClientError) as caught:
        await client.pair(instance.invite().to_uri())
    assert caught.value.code == "PAIRING_INCOMPLETE"
    assert client.server().status == "pending"


async def test_an_alias_naming_another_instance_is_refused_before_any_traffic(
    client, instance, relay
):
    await client.pair(instance.invite().to_uri(), name="home")
    opened = relay.channels_opened
    other = instance.invite()
    other = type(other)(**{**other.__dict__, "instance_id": "other-1"})
    with pytest.raises(ClientError) as caught:
        await client.pair(other.to_uri(), name="home")
    assert caught.value.code == "ALIAS_IN_USE"
    assert relay.channels_opened == opened


async def test_expired_link_is_refused_before_any_traffic(client, instance, relay):
    with pytest.raises(ClientError) as caught:
        await client.pair(instance.invite(expires_in=-5).to_uri())
    assert caught.value.code == "PAIRING_EXPIRED"
    assert relay.channels_opened == 0


async def test_a_bad_device_name_is_refused_before_any_traffic(client, instance, relay):
    with pytest.raises(ClientError) as caught:
        await client.pair(instance.invite().to_uri(), device_name="bad\nname")
    assert caught.value.code == "INVALID_ARGUMENT"
    assert relay.channels_opened == 0


async def test_one_client_key_serves_every_server(client, instance, state_file):
    await client.pair(instance.invite().to_uri(), name="a")
    key = state_file.load().static_private_key
    await client.pair(instance.invite().to_uri(), name="b")
    assert state_file.load().static_private_key == key
    assert len(instance.devices) == 1  # same phone key: the instance sees one device


async def test_a_pairing_the_relay_never_lists_is_pairing_used_after_retrying(
    client, instance, relay, monkeypatch
):
    from relayclient import channel

    monkeypatch.setattr(channel, "PAIRING_ROUTE_RETRIES", 2)
    relay.refuse = "UNAUTHORIZED"
    with pytest.raises(ClientError) as caught:
        await client.pair(instance.invite().to_uri())
    assert caught.value.code == "PAIRING_USED" and "new one" in caught.value.message
    assert len(relay.routing_tokens) == 3  # the first try and two retries
