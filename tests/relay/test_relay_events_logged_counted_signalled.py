"""Relay events become structured log records, /metrics counters and signals; no store."""

import logging

import pytest
from prometheus_client import REGISTRY

from relay import signals
from relay.hub import get_hub
from tests.relay.relay_client import registered_instance


def events_total(event: str) -> float:
    return REGISTRY.get_sample_value("relay_events_total", {"event": event}) or 0.0


@pytest.fixture
def heard():
    """Everything the relay's signals said during the test, as (signal name, kwargs)."""
    said: list[tuple[str, dict]] = []
    receivers = {}
    for name in (
        "instance_registered",
        "registration_refused",
        "instance_disconnected",
        "limit_hit",
        "worker_draining",
    ):

        def receiver(sender, _name=name, **kwargs):
            said.append((_name, kwargs))

        receivers[name] = receiver
        getattr(signals, name).connect(receiver)
    yield said
    for name, receiver in receivers.items():
        getattr(signals, name).disconnect(receiver)


async def test_registration_and_disconnect_are_logged_counted_and_signalled(
    relay_app, licence_token, heard, caplog
):
    before = events_total("relay.instance_registered")
    caplog.set_level(logging.INFO, logger="relay.events")
    instance, _ = await registered_instance(relay_app, licence_token)
    await instance.close()
    assert events_total("relay.instance_registered") == before + 1
    (registered,) = [kw for name, kw in heard if name == "instance_registered"]
    assert registered["instance_id"] == "home-1" and registered["resumed"] is False
    (record,) = [
        r for r in caplog.records if getattr(r, "event", "") == "relay.instance_registered"
    ]
    assert record.fields["instance_id"] == "home-1"
    assert "instance_id=home-1" in record.getMessage()
    assert licence_token not in caplog.text
    assert [kw["instance_id"] for name, kw in heard if name == "instance_disconnected"] == [
        "home-1"
    ]


async def test_refused_registration_carries_its_code(relay_app, heard, caplog):
    before = events_total("relay.registration_refused")
    instance, _ = await registered_instance(relay_app, "not-a-licence")
    await instance.expect_closed()
    (refused,) = [kw for name, kw in heard if name == "registration_refused"]
    assert refused["code"] == "LICENSE_INVALID"
    assert events_total("relay.registration_refused") == before + 1
    assert any(r.levelno == logging.WARNING and "LICENSE_INVALID" in r.getMessage()
               for r in caplog.records)  # fmt: skip


async def test_drain_is_signalled(relay_app, heard):
    await get_hub().drain(grace=0)
    (drained,) = [kw for name, kw in heard if name == "worker_draining"]
    assert drained["sockets"] == 0 and drained["worker"] == get_hub().worker_id


async def test_a_failing_receiver_never_hurts_the_relay(relay_app, licence_token, caplog):
    def broken(sender, **kwargs):
        raise RuntimeError("subscriber bug")

    signals.instance_registered.connect(broken)
    try:
        instance, ack = await registered_instance(relay_app, licence_token)
        assert ack.instance_id == "home-1"
        await instance.close()
    finally:
        signals.instance_registered.disconnect(broken)
    assert "subscriber bug" in caplog.text
