"""The OpenAPI schema is served and valid, and schemathesis finds no 500 and no response that
violates it (bounded: a fixed number of examples per operation, derandomised)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


def test_schema_and_docs_are_served(client, db):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/settings/relay",
        "/api/settings/relay/status",
        "/api/onboarding/qr",
        "/api/onboarding/deep-link",
        "/api/devices",
        "/api/devices/{id}/approve",
        "/api/audit",
        "/api/tokens",
    ):
        assert path in paths
    assert client.get("/api/docs/").status_code == 200


OPERATIONS = [
    ("GET", "/api/settings/relay"),
    ("PUT", "/api/settings/relay"),
    ("GET", "/api/settings/relay/status"),
    ("POST", "/api/onboarding/qr"),
    ("POST", "/api/onboarding/deep-link"),
    ("GET", "/api/onboarding/sessions"),
    ("DELETE", "/api/onboarding/sessions/{pairing_id}"),
    ("GET", "/api/devices"),
    ("PATCH", "/api/devices/{id}"),
    ("DELETE", "/api/devices/{id}"),
    ("POST", "/api/devices/{id}/approve"),
    ("GET", "/api/tokens"),
    ("POST", "/api/tokens"),
    ("DELETE", "/api/tokens/{id}"),
    ("GET", "/api/audit"),
    ("GET", "/api/audit/export.csv"),
    ("GET", "/api/audit/export.json"),
    ("GET", "/api/audit/export.jsonl"),
    ("GET", "/api/audit/verify"),
]


@pytest.fixture
def api_schema(relay_ready, pending_device):
    """The live schema, fetched through the WSGI app, against a configured instance."""
    from django.core.wsgi import get_wsgi_application

    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


def test_every_operation_is_fuzzed(api_schema):
    listed = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert listed == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_conforms_to_its_schema(api_schema, api_token, method, path):
    token = api_token("settings:read", "settings:write", "devices:write", "audit:read")
    headers = {"Authorization": f"Bearer {token}"}
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
