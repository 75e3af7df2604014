"""/api/monitor/* and /ws/monitor answer the owner's session or the tunnel's secret marking;
a forged device header, a wrong secret or no login is 403."""

import pytest
from channels.testing import WebsocketCommunicator

from instance.tunnel import TunnelDevice
from instance.tunnel import auth as tunnel_auth

SAMPLE = "/api/monitor/sample"
STREAM = "/api/monitor/stream"


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path


def tunnel_meta(secret=None, device_id="7"):
    device = TunnelDevice(device_id=device_id, name="Tab")
    headers = dict(tunnel_auth.device_headers(device, with_secret=True))
    if secret is not None:
        headers[tunnel_auth.SECRET_HEADER] = secret
    return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}


def test_the_owners_session_gets_a_sample(owner_client):
    response = owner_client.get(SAMPLE)
    assert response.status_code == 200
    assert response.json()["memory"]["total_bytes"] > 0


def test_the_tunnel_secret_gets_a_sample(stranger_client):
    response = stranger_client.get(SAMPLE, **tunnel_meta())
    assert response.status_code == 200


@pytest.mark.parametrize("secret", ["", "wrong", None])
def test_forged_device_headers_are_403(stranger_client, secret):
    meta = tunnel_meta(secret if secret is not None else "x")
    if secret is None:
        meta.pop("HTTP_X_PULSE_TUNNEL_SECRET")
    response = stranger_client.get(SAMPLE, **meta)
    assert response.status_code == 403
    assert "owner's login" in response.json()["detail"]


def test_no_login_is_403_for_both_endpoints(stranger_client):
    assert stranger_client.get(SAMPLE).status_code == 403
    assert stranger_client.get(STREAM + "?count=1").status_code == 403


def test_a_logged_in_non_owner_is_403(db, client, django_user_model):
    client.force_login(django_user_model.objects.create_user("guest", password="x" * 12))
    assert client.get(SAMPLE).status_code == 403


async def test_the_stream_sends_count_events_and_checks_its_query(async_client):
    meta = {"headers": dict(tunnel_auth.device_headers(TunnelDevice("7", "Tab"), with_secret=True))}
    response = await async_client.get(STREAM + "?interval=0.1&count=2", **meta)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    body = b"".join([chunk async for chunk in response.streaming_content]).decode()
    assert body.count("event: sample\ndata: {") == 2
    assert (await async_client.get(STREAM + "?interval=0", **meta)).status_code == 400
    refused = await async_client.get(STREAM + "?count=x", **meta)
    assert "count must be" in refused.json()["detail"]


def test_post_is_not_allowed(owner_client):
    assert owner_client.post(SAMPLE).status_code == 405


def test_the_secret_never_reaches_a_view(settings, stranger_client):
    settings.ROOT_URLCONF = "tests.instance.tunnel_urls"
    seen = stranger_client.get("/tunnel-test/headers", **tunnel_meta()).json()
    assert seen["device"] == {"id": "7", "name": "Tab"}
    assert "x-pulse-tunnel-secret" not in seen["headers"]
    forged = stranger_client.get("/tunnel-test/headers", **tunnel_meta("wrong")).json()
    assert forged["device"] is None
    assert not [name for name in forged["headers"] if name.startswith("x-pulse-")]


async def monitor_socket(headers):
    from relayproject.asgi import application

    base = [(b"host", b"localhost"), (b"origin", b"http://localhost")]
    communicator = WebsocketCommunicator(
        application, "/ws/monitor?interval=0.1", headers=base + headers
    )
    connected, _ = await communicator.connect()
    return communicator, connected


def as_scope_headers(meta):
    return [
        (key[5:].lower().replace("_", "-").encode(), value.encode()) for key, value in meta.items()
    ]


async def test_the_feed_refuses_strangers_and_forged_headers(transactional_db):
    _communicator, connected = await monitor_socket([])
    assert not connected
    _communicator, connected = await monitor_socket(as_scope_headers(tunnel_meta("wrong")))
    assert not connected


async def test_the_feed_serves_the_tunnel_and_the_owners_session(transactional_db, owner):
    from django.test import Client

    communicator, connected = await monitor_socket(as_scope_headers(tunnel_meta()))
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "sample"
    await communicator.disconnect()

    client = Client()
    await client.aforce_login(owner)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    communicator, connected = await monitor_socket([(b"cookie", cookie)])
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "sample"
    await communicator.disconnect()
