"""/healthz answers liveness, in every role, with the version, the roles and the layer."""

from relayproject import __version__


def test_healthz_reports_ok_version_and_layer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "version": __version__,
        "roles": ["relay", "instance"],
        "channel_layer": "in-memory",
    }


def test_healthz_names_redis_when_configured(client, settings):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {}}
    }
    assert client.get("/healthz").json()["channel_layer"] == "redis"


def test_healthz_refuses_other_methods(client):
    assert client.post("/healthz").status_code == 405
