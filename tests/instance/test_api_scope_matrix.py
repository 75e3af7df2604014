"""Every instance API endpoint x (no token, wrong scope, right scope, session without CSRF)."""

from __future__ import annotations

import json

import pytest

# (method, path, required scope, body)
ENDPOINTS = [
    ("get", "/api/settings/relay", "settings:read", None),
    ("put", "/api/settings/relay", "settings:write", {"server_url": "wss://relay.example.org"}),
    ("get", "/api/settings/relay/status", "settings:read", None),
    ("post", "/api/onboarding/qr", "settings:read", None),
    ("post", "/api/onboarding/deep-link", "settings:read", None),
    ("get", "/api/onboarding/sessions", "settings:read", None),
    ("delete", "/api/onboarding/sessions/{pairing}", "settings:read", None),
    ("get", "/api/devices", "settings:read", None),
    ("post", "/api/devices/{device}/approve", "devices:write", {"code": "123456"}),
    ("patch", "/api/devices/{device}", "devices:write", {"name": "Renamed"}),
    ("delete", "/api/devices/{device}", "devices:write", None),
    ("get", "/api/tokens", "settings:read", None),
    ("post", "/api/tokens", "settings:write", {"name": "new", "scopes": ["settings:write"]}),
    ("delete", "/api/tokens/{token}", "settings:write", None),
    ("get", "/api/audit", "audit:read", None),
    ("get", "/api/audit/export.csv", "audit:read", None),
    ("get", "/api/audit/export.json", "audit:read", None),
    ("get", "/api/audit/export.jsonl", "audit:read", None),
    ("get", "/api/audit/verify", "audit:read", None),
]
UNSAFE = {"post", "put", "patch", "delete"}
IDS = [f"{m.upper()} {p}" for m, p, _, _ in ENDPOINTS]


@pytest.fixture
def target(pending_device):
    """Objects the URL templates refer to."""
    from instance import tokens
    from pairing import sessions
    from relayproto import b64

    token, _ = tokens.create_token("victim", ["audit:read"])
    _, invite = sessions.create_pairing_session(actor="test")
    return {
        "device": pending_device.pk,
        "token": token.pk,
        "pairing": b64.encode(invite.pairing_id),
    }


def call(client, method, path, body, target, **extra):
    url = path.format(**target)
    if body is None:
        return getattr(client, method)(url, **extra)
    return getattr(client, method)(
        url, data=json.dumps(body), content_type="application/json", **extra
    )


@pytest.mark.parametrize(("method", "path", "scope", "body"), ENDPOINTS, ids=IDS)
def test_no_credentials_is_401(stranger_client, target, method, path, scope, body):
    response = call(stranger_client, method, path, body, target)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "scope", "body"), ENDPOINTS, ids=IDS)
def test_bad_token_is_401(client, target, method, path, scope, body):
    response = call(client, method, path, body, target, HTTP_AUTHORIZATION="Bearer pulse_nope")
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path", "scope", "body"), ENDPOINTS, ids=IDS)
def test_wrong_scope_is_403_naming_the_scope(token_client, target, method, path, scope, body):
    from instance.tokens import SCOPES

    others = [s for s in SCOPES if s != scope]
    response = call(token_client(*others), method, path, body, target)
    assert response.status_code == 403
    assert scope in response.json()["detail"]


@pytest.mark.parametrize(("method", "path", "scope", "body"), ENDPOINTS, ids=IDS)
def test_right_scope_is_allowed(token_client, target, method, path, scope, body):
    response = call(token_client(scope), method, path, body, target)
    assert response.status_code in (200, 201, 204), response.content


@pytest.mark.parametrize(("method", "path", "scope", "body"), ENDPOINTS, ids=IDS)
def test_owner_session_without_csrf_token(csrf_owner_client, target, method, path, scope, body):
    response = call(csrf_owner_client, method, path, body, target)
    if method in UNSAFE:
        assert response.status_code == 403
        assert "CSRF" in response.json()["detail"]
    else:
        assert response.status_code == 200


@pytest.mark.parametrize(("method", "path", "scope", "body"), ENDPOINTS, ids=IDS)
def test_owner_session_with_csrf_token_is_allowed(
    csrf_owner_client, target, method, path, scope, body
):
    csrf_owner_client.get("/login/")
    token = csrf_owner_client.cookies["csrftoken"].value
    response = call(csrf_owner_client, method, path, body, target, HTTP_X_CSRFTOKEN=token)
    assert response.status_code in (200, 201, 204), response.content


def test_logged_in_non_staff_user_is_refused(client, relay_ready, django_user_model):
    user = django_user_model.objects.create_user("guest", password="x" * 12)
    client.force_login(user)
    assert client.get("/api/settings/relay").status_code == 403


@pytest.mark.parametrize("path", ["/api/devices/{}", "/api/tokens/{}"])
def test_ids_beyond_the_database_range_are_404_not_500(token_client, data_dir, path):
    response = token_client("devices:write", "settings:write").delete(path.format(10**30))
    assert response.status_code == 404
