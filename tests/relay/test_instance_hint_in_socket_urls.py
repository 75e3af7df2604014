"""The relay reads ?iid= on both sockets; a URL naming another instance still works but is
counted and logged, since a balancer hashing on it puts the socket on the wrong worker."""

from prometheus_client import REGISTRY

from relayproto.control import Register, encode_control
from tests.relay.relay_client import FrameClient, open_channel, registered_instance


def mismatches(kind: str) -> float:
    labels = {"kind": kind}
    return REGISTRY.get_sample_value("relay_instance_hint_mismatches_total", labels) or 0.0


async def test_matching_hints_route_as_usual(relay_app, licence_token):
    before = mismatches("instance") + mismatches("app")
    instance = FrameClient(relay_app, "/ws/instance?iid=home-1")
    await instance.connect()
    await instance.send(encode_control(Register(licence=licence_token, client="tests/1")))
    _, ack = await instance.recv_control()
    assert ack.instance_id == "home-1"
    app = FrameClient(relay_app, "/ws/app?iid=home-1")
    await app.connect()
    assert await open_channel(app, instance, "home-1")
    assert mismatches("instance") + mismatches("app") == before
    await app.close()
    await instance.close()


async def test_a_hint_for_another_instance_is_counted_not_refused(relay_app, licence_token, caplog):
    before = mismatches("app")
    instance, _ = await registered_instance(relay_app, licence_token)
    app = FrameClient(relay_app, "/ws/app?iid=someone-else")
    await app.connect()
    assert await open_channel(app, instance, "home-1")
    assert mismatches("app") == before + 1
    assert "named instance 'someone-else'" in caplog.text
    await app.close()
    await instance.close()
