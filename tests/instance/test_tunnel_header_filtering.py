"""The in-process app sees the phone's headers minus hop-by-hop, forwarding and credential ones,
plus the tunnel's device headers; the tunnel secret authenticates but never reaches a view."""

import pytest

from instance.tunnel import Tunnel
from tests.instance.tunnel_support import DEVICE, fetch, header, json_body, tunnel_phone

pytestmark = pytest.mark.urls("tests.instance.tunnel_urls")

PHONE_HEADERS = [
    ("accept", "application/json"),
    ("x-custom", "kept"),
    ("connection", "keep-alive, x-drop-me"),
    ("x-drop-me", "named in connection"),
    ("keep-alive", "timeout=5"),
    ("proxy-authorization", "Basic Zm9vOmJhcg=="),
    ("te", "trailers"),
    ("upgrade", "h2c"),
    ("forwarded", "for=203.0.113.9"),
    ("x-forwarded-for", "203.0.113.9"),
    ("x-forwarded-host", "evil.example"),
    ("x-real-ip", "203.0.113.9"),
    ("cookie", "sessionid=stolen"),
    ("authorization", "Bearer stolen"),
    ("host", "evil.example"),
    ("x-pulse-device-id", "1"),
    ("x-pulse-device-name", "forged"),
    ("x-pulse-tunnel-secret", "guess"),
]


async def test_the_view_sees_filtered_headers_and_the_calling_device(settings):
    settings.PULSE_RELAY_UPSTREAM = ""
    async with tunnel_phone(Tunnel()) as phone:
        head, body = await fetch(phone, "GET", "/tunnel-test/headers?a=1&b=%C3%A9", PHONE_HEADERS)
    assert head.status == 200, body
    seen = json_body(body)
    headers = seen["headers"]
    assert headers["accept"] == "application/json"
    assert headers["x-custom"] == "kept"
    for dropped in (
        "connection", "x-drop-me", "keep-alive", "proxy-authorization", "te", "upgrade",
        "forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip", "cookie",
        "authorization", "x-pulse-tunnel-secret",
    ):  # fmt: skip
        assert dropped not in headers, dropped
    assert headers["x-pulse-device-id"] == DEVICE.device_id
    assert headers["x-pulse-device-name"] == "Ana%27s%20phone%20%E2%9C%93"
    assert seen["device"] == {"id": DEVICE.device_id, "name": DEVICE.name}
    assert seen["host"] == "localhost"
    assert seen["secure"] is True
    assert seen["query"] == "a=1&b=%C3%A9"
    assert header(head, "content-type") == "application/json"


async def test_hop_by_hop_headers_in_the_response_are_not_relayed(settings):
    settings.PULSE_RELAY_UPSTREAM = ""

    async def app(scope, receive, send):
        await receive()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"Content-Type", b"text/plain"),
                    (b"Connection", b"close, X-Hop"),
                    (b"X-Hop", b"1"),
                    (b"Keep-Alive", b"timeout=5"),
                    (b"Transfer-Encoding", b"chunked"),
                    (b"X-Kept", b"yes"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})

    async with tunnel_phone(Tunnel(http_app=app)) as phone:
        head, body = await fetch(phone, "GET", "/")
    assert body == b"ok"
    assert dict(head.headers) == {"content-type": "text/plain", "x-kept": "yes"}
