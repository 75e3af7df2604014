"""POST /api/onboarding/qr and /deep-link: the link's contents, a QR that decodes to it,
the bare PNG with Accept: image/png, and 409 diagnostics when pairing is not possible."""

from __future__ import annotations

import base64
import io
import json
import time

import pytest
import zxingcpp
from PIL import Image

from instance import relay_settings
from instance import status as connector_status
from pairing import sessions
from relayproto import PROTOCOL_VERSION, deeplink


@pytest.fixture
def reader(token_client):
    return token_client("settings:read")


def decode_png(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return results[0].text


def test_deep_link_carries_everything_the_phone_needs(reader, relay_ready):
    response = reader.post("/api/onboarding/deep-link")
    assert response.status_code == 201
    body = response.json()
    invite = deeplink.parse(body["deep_link"])
    public = relay_settings.identity_public_key()
    assert body["deep_link"].startswith("pulse://pair?v=1&")
    assert invite.version == PROTOCOL_VERSION
    assert invite.relay_url == "wss://relay.example.org"
    assert invite.instance_id == "home-1"
    assert invite.instance_public_key == public
    assert base64.urlsafe_b64encode(invite.pairing_id).rstrip(b"=").decode() == body["pairing_id"]
    # The secret in the link is the psk the responder will use for this pairing id.
    assert sessions.psk_for_pairing_attempt(invite.pairing_id) == invite.pairing_secret
    assert abs(invite.expires_at - 300 - time.time()) < 10
    assert body["expires_at"]


def test_qr_png_decodes_to_exactly_the_deep_link(reader, relay_ready):
    body = reader.post("/api/onboarding/qr").json()
    prefix = "data:image/png;base64,"
    assert body["qr_png"].startswith(prefix)
    png = base64.b64decode(body["qr_png"][len(prefix) :])
    assert decode_png(png) == body["deep_link"]
    assert body["qr_svg"].lstrip().startswith("<svg")


def test_accept_image_png_returns_the_image_itself(reader, relay_ready):
    response = reader.post("/api/onboarding/qr", HTTP_ACCEPT="image/png")
    assert response.status_code == 201
    assert response["Content-Type"] == "image/png"
    link = decode_png(response.content)
    assert deeplink.parse(link).instance_id == "home-1"


def test_each_request_makes_a_new_single_use_session(reader, relay_ready):
    first = reader.post("/api/onboarding/deep-link").json()["pairing_id"]
    second = reader.post("/api/onboarding/deep-link").json()["pairing_id"]
    assert first != second


@pytest.mark.parametrize("path", ["/api/onboarding/qr", "/api/onboarding/deep-link"])
def test_not_configured_is_409_with_diagnostics(reader, data_dir, path):
    response = reader.post(path)
    assert response.status_code == 409
    diagnostics = response.json()["diagnostics"]
    assert {d["field"] for d in diagnostics} == {"enabled", "server_url", "licence_token"}
    assert all(d["code"] and d["message"] for d in diagnostics)


def test_errors_are_json_even_when_png_was_asked(reader, data_dir):
    response = reader.post("/api/onboarding/qr", HTTP_ACCEPT="image/png")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/json"


def test_not_registered_is_409(reader, relay_ready):
    connector_status.publish(
        connector_status.ConnectorStatus(state="backoff", last_error="LICENSE_EXPIRED")
    )
    response = reader.post("/api/onboarding/deep-link")
    assert response.status_code == 409
    [diagnostic] = response.json()["diagnostics"]
    assert diagnostic["code"] == "not_registered"
    assert "LICENSE_EXPIRED" in diagnostic["message"]


def test_connector_not_running_is_409(reader, relay_ready):
    connector_status.clear()
    response = reader.post("/api/onboarding/deep-link")
    assert [d["code"] for d in response.json()["diagnostics"]] == ["connector_not_running"]


def test_expired_licence_is_409(reader, relay_ready, operator_key):
    from relayproto.licence import issue

    old = issue(operator_key, name="old", days=1, instance_id="home-1", now=1_000_000)
    relay_settings.update(licence_token=old)
    response = reader.post("/api/onboarding/deep-link")
    [diagnostic] = response.json()["diagnostics"]
    assert diagnostic["code"] == "licence_invalid"
    assert diagnostic["field"] == "licence_token"


def test_onboarding_takes_no_body_fields(reader, relay_ready):
    response = reader.post(
        "/api/onboarding/deep-link", json.dumps({"ttl": 9999}), content_type="application/json"
    )
    assert response.status_code == 201
