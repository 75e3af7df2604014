"""Every answer carries a Content-Security-Policy: scripts from this origin only, never inline."""

import pytest

from relayproject import csp


def directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def test_the_default_policy_allows_no_inline_script_and_no_other_origin():
    policy = directives(csp.DEFAULT_POLICY)
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert "unsafe" not in csp.DEFAULT_POLICY and "*" not in csp.DEFAULT_POLICY


def test_the_docs_policy_relaxes_styles_only():
    relaxed = directives(csp.INLINE_STYLES_POLICY)
    assert relaxed["script-src"] == "'self'"
    assert relaxed["style-src"] == "'self' 'unsafe-inline'"


@pytest.mark.parametrize("path", ["/healthz", "/login/", "/settings/relay", "/nowhere"])
def test_pages_and_errors_carry_the_policy(client, path, db):
    assert client.get(path)["Content-Security-Policy"] == csp.DEFAULT_POLICY
