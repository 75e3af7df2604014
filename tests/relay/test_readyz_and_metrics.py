"""/readyz checks the channel layer; /metrics exposes the relay's counters."""

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from tests.relay.relay_client import FrameClient, data_frame, open_channel, registered_instance


async def test_readyz_is_ok_on_the_in_memory_layer(relay_app):
    response = await AsyncClient().get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.slow
async def test_readyz_reports_a_vanished_redis_with_503(settings, private_redis, relay_app):
    settings.PULSE_REDIS_HOST = {"address": private_redis.url, "protocol": 2}
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": private_redis.url, "protocol": 2}], "prefix": "rz"},
        }
    }
    from channels.layers import channel_layers

    channel_layers.backends.pop("default", None)
    try:
        assert (await AsyncClient().get("/readyz")).status_code == 200
        await sync_to_async(private_redis.stop)()
        response = await AsyncClient().get("/readyz")
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable" and response.json()["problem"]
        # A balancer's check: every worker shares this Redis, so none is taken out for it.
        check = await AsyncClient().get("/readyz?balancer=1")
        assert check.status_code == 200
        assert check.json()["status"] == "degraded" and check.json()["problem"]
    finally:
        channel_layers.backends.pop("default", None)


async def test_metrics_count_sockets_frames_and_bytes(relay_app, licence_token):
    def value(text: str, series: str) -> float:
        for line in text.splitlines():
            name, _, number = line.rpartition(" ")
            if name == series:
                return float(number)
        return 0.0

    before = (await AsyncClient().get("/metrics")).content.decode()
    instance, _ = await registered_instance(relay_app, licence_token)
    app = FrameClient(relay_app, "/ws/app")
    await app.connect()
    cid = await open_channel(app, instance, "home-1")
    await app.send(data_frame(cid, b"p" * 1000))
    await instance.recv()
    after = (await AsyncClient().get("/metrics")).content.decode()
    sent = 'relay_bytes_forwarded_total{direction="app_to_instance",path="local"}'
    assert value(after, sent) - value(before, sent) == 1000
    crossed = 'relay_bytes_forwarded_total{direction="app_to_instance",path="cross_worker"}'
    assert value(after, crossed) == value(before, crossed)
    local = 'relay_deliveries_total{path="local"}'
    assert value(after, local) > value(before, local)
    assert value(after, 'relay_sockets{kind="app"}') >= 1
    assert value(after, 'relay_channels{path="local"}') >= 1
    opened = 'relay_channels_opened_total{path="local"}'
    assert value(after, opened) - value(before, opened) == 1
    assert value(after, "relay_draining") == 0
    assert 'relay_redis_errors_total{op="channel_send"}' in after
    assert "relay_worker_info{worker_id=" in after
    await app.close()
    await instance.close()
