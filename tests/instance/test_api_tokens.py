"""API tokens: hashed at rest, shown once, scoped, revocable, audited; the CLI command."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from instance import tokens
from instance.models import ApiToken


def test_token_is_stored_only_as_a_hash(db, data_dir):
    token, plaintext = tokens.create_token("ci", ["audit:read"])
    stored = ApiToken.objects.get(pk=token.pk)
    assert plaintext not in json.dumps(
        {f.name: str(getattr(stored, f.name)) for f in ApiToken._meta.fields}
    )
    assert stored.token_hash == tokens.hash_token(plaintext)
    assert tokens.authenticate_token(plaintext) == stored


def test_unknown_scope_is_refused(db):
    with pytest.raises(tokens.TokenError, match="unknown scope"):
        tokens.create_token("x", ["settings:admin"])


def test_revoked_token_stops_working(client, db, data_dir):
    token, plaintext = tokens.create_token("ci", ["settings:read"])
    header = {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}
    assert client.get("/api/settings/relay", **header).status_code == 200
    tokens.revoke_token(token)
    assert client.get("/api/settings/relay", **header).status_code == 401


def test_create_via_api_shows_the_secret_once(token_client, client):
    admin = token_client("settings:read", "settings:write")
    created = admin.post(
        "/api/tokens",
        json.dumps({"name": "phone script", "scopes": ["settings:read"]}),
        content_type="application/json",
    )
    assert created.status_code == 201
    secret = created.json()["token"]
    assert (
        client.get("/api/settings/relay", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    )
    listed = admin.get("/api/tokens").json()
    assert all("token" not in row for row in listed)
    assert secret not in json.dumps(listed)


def test_a_token_cannot_grant_scopes_it_lacks(token_client):
    response = token_client("settings:read", "settings:write").post(
        "/api/tokens",
        json.dumps({"name": "escalate", "scopes": ["audit:read"]}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "audit:read" in response.json()["detail"]


def test_revoke_via_api(token_client, db):
    token, _ = tokens.create_token("old", ["audit:read"])
    response = token_client("settings:write").delete(f"/api/tokens/{token.pk}")
    assert response.status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(event="token.revoked").count() == 1


def test_unknown_token_id_is_404(token_client):
    assert token_client("settings:write").delete("/api/tokens/999999").status_code == 404


def test_bad_tokens_are_audited_but_throttled(client, db, data_dir):
    for _ in range(5):
        response = client.get("/api/settings/relay", HTTP_AUTHORIZATION="Bearer pulse_wrong")
        assert response.status_code == 401
    failures = AuditEvent.objects.filter(event="auth.failed")
    assert failures.count() == 1
    assert failures.get().outcome == "failure"
    assert "pulse_wrong" not in json.dumps(failures.get().details)


def test_failed_login_is_audited(client, owner, data_dir):
    client.post("/login/", {"username": "owner", "password": "wrong"})
    event = AuditEvent.objects.get(event="auth.failed")
    assert event.actor == "user:owner"
    assert "wrong" not in json.dumps(event.details)


def test_create_api_token_command_prints_the_token_last(db, data_dir, client):
    out = StringIO()
    call_command(
        "create_api_token",
        "--name",
        "backup",
        "--scopes",
        "settings:read,settings:write",
        stdout=out,
    )
    last = out.getvalue().strip().splitlines()[-1]
    assert last.startswith(tokens.TOKEN_PREFIX)
    token = ApiToken.objects.get(name="backup")
    assert token.scopes == ["settings:read", "settings:write"]
    assert client.get("/api/settings/relay", HTTP_AUTHORIZATION=f"Bearer {last}").status_code == 200


def test_create_api_token_command_rejects_unknown_scopes(db):
    with pytest.raises(CommandError, match="unknown scope"):
        call_command("create_api_token", "--name", "x", "--scopes", "root")
