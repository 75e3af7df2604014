"""The Settings → Relay page: login required; create a token (shown once) and revoke it."""

from __future__ import annotations

from instance.models import ApiToken


def test_page_requires_login(stranger_client, data_dir):
    response = stranger_client.get("/settings/relay")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_page_shows_the_relay_summary(owner_client, relay_ready):
    page = owner_client.get("/settings/relay").content.decode()
    assert "wss://relay.example.org" in page
    assert relay_ready.identity_fingerprint in page


def test_create_shows_the_token_once_then_revoke(owner_client, data_dir):
    created = owner_client.post(
        "/settings/relay", {"name": "backup", "scopes": ["settings:read", "audit:read"]}
    )
    assert created.status_code == 201
    token = ApiToken.objects.get(name="backup")
    assert token.scopes == ["audit:read", "settings:read"]
    page = created.content.decode()
    start = page.index('id="new-token">') + len('id="new-token">')
    secret = page[start : page.index("<", start)]
    assert secret.startswith("pulse_")
    assert secret not in owner_client.get("/settings/relay").content.decode()
    revoked = owner_client.post(f"/settings/relay/tokens/{token.pk}/revoke")
    assert revoked.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_create_without_scopes_is_an_error(owner_client, data_dir):
    response = owner_client.post("/settings/relay", {"name": "x"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_forms_need_the_csrf_token(csrf_owner_client, data_dir):
    response = csrf_owner_client.post("/settings/relay", {"name": "x", "scopes": ["audit:read"]})
    assert response.status_code == 403
