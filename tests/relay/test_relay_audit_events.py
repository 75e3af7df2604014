"""Relay-side events reach the audit trail: registrations, refusals, disconnects, drains."""

from asgiref.sync import sync_to_async

from audit.models import AuditEvent
from relay import audit_hooks
from relay.hub import get_hub
from tests.relay.relay_client import registered_instance


async def events_named(name):
    await audit_hooks.flush()
    return await sync_to_async(list)(AuditEvent.objects.filter(event=name))


async def test_registration_and_disconnect_are_audited(relay_app, licence_token):
    instance, _ = await registered_instance(relay_app, licence_token)
    await instance.close()
    (registered,) = await events_named("relay.instance_registered")
    assert registered.details["instance_id"] == "home-1" and registered.actor == "relay"
    assert licence_token not in str(registered.details)
    assert len(await events_named("relay.instance_disconnected")) == 1


async def test_refused_registration_is_audited_with_its_code(relay_app):
    instance, _ = await registered_instance(relay_app, "not-a-licence")
    await instance.expect_closed()
    (refused,) = await events_named("relay.registration_failed")
    assert refused.outcome == "failure" and refused.details["code"] == "LICENSE_INVALID"


async def test_drain_is_audited(relay_app):
    await get_hub().drain(grace=0)
    (drained,) = await events_named("relay.worker_draining")
    assert drained.details["sockets"] == 0
