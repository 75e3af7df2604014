"""Every page of the instance (login, Settings → Relay, admin, API docs) at 390 px and 1280 px:
no console error, no CSP violation, no serious or critical axe-core violation, and the
script-driven parts working; a screenshot of each is kept as a test artifact."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, open_page, screenshot

pytestmark = pytest.mark.slow

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()

# Run inside the page by CDP, which the page's CSP does not apply to.
SERIOUS_VIOLATIONS = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter((v) => ["serious", "critical"].includes(v.impact))
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}"""


def ready_settings(page):
    expect(page.locator("#live")).to_have_text("Live")
    expect(page.locator("#chain-state")).not_to_have_text("Checking the chain…")


def ready_admin(page):
    expect(page.get_by_role("link", name="Devices")).to_be_visible()


def ready_docs(page):
    expect(page.locator(".swagger-ui .info")).to_be_visible()


def ready_login(page):
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


PAGES = [
    ("login", "/login/", False, ready_login),
    ("settings-relay", "/settings/relay", True, ready_settings),
    ("admin", "/admin/", True, ready_admin),
    ("api-docs", "/api/docs/", True, ready_docs),
]


@pytest.mark.parametrize("width", [390, 1280])
def test_every_page_is_clean(product, chromium, width):
    watched = open_page(chromium, width)
    page = watched.page
    log_in(page, product.url)
    found: dict[str, list[str]] = {}
    for name, path, logged_in, ready in PAGES:
        if not logged_in:
            page.goto("about:blank")  # leave the live page first: its stream would get 403s
            page.context.clear_cookies()
        page.goto(f"{product.url}{path}")
        ready(page)
        page.evaluate(AXE + "\n;0")
        violations = page.evaluate(SERIOUS_VIOLATIONS)
        if violations:
            found[name] = violations
        screenshot(page, f"{name}-{width}")
        if not logged_in:
            log_in(page, product.url)
    assert found == {}
    assert watched.problems() == []
