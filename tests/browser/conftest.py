"""The product as `make run` starts it (one process, both roles, SQLite, in-memory layer), a
real Debian chromium driven by Playwright, and the reference client as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.harness.daphne_workers import (
    ROOT,
    Worker,
    free_port,
    migrate,
    start_worker,
    wait_until_healthy,
    worker_env,
)

CHROMIUM = os.environ.get("PULSE_TEST_CHROMIUM", "/usr/bin/chromium")
OWNER = "owner"
PASSWORD = "a long owner password 42"
# Screenshots and downloads of browser tests land here (CI keeps them as artifacts).
ARTIFACTS = Path(os.environ.get("PULSE_TEST_ARTIFACTS", ROOT / "test-artifacts"))


@dataclass
class Product:
    """One running `manage.py serve` (both roles) and how to reach it."""

    worker: Worker
    env: dict
    data_dir: Path

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:PORT."""
        return self.worker.http_url


@dataclass
class Phone:
    """The reference client (``python -m relayclient``) with a state file of its own."""

    state: Path
    env: dict = field(default_factory=dict)

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run one client command; returns its exit code and output."""
        return subprocess.run(
            [sys.executable, "-m", "relayclient", "--state", str(self.state), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str) -> subprocess.Popen:
        """Start a long client command (an SSE stream) in the background."""
        return subprocess.Popen(
            [sys.executable, "-m", "relayclient", "--state", str(self.state), *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture
def product(request, tmp_path) -> Iterator[Product]:
    """`make run`'s process: migrated, an owner login, the embedded relay and connector."""
    data_dir = tmp_path / "data"
    env = worker_env(data_dir, None, "browser", {"PULSE_ADMIN_PASSWORD": PASSWORD})
    migrate(env)
    made = subprocess.run(
        [sys.executable, "manage.py", "ensure_admin", "--username", OWNER],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    logs = tmp_path / "logs"
    logs.mkdir()
    # A fixed port, as `make run` has: the embedded relay gives the instance its own URL.
    worker = start_worker("product", env, logs, server="serve", port=free_port())
    try:
        wait_until_healthy(worker)
        yield Product(worker, env, data_dir)
    finally:
        worker.stop()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(f"--- product log ---\n{worker.logs()}")


@pytest.fixture
def phone(tmp_path) -> Phone:
    """A phone with the reference client and no pairing yet."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "DJANGO_"))}
    env["PYTHONPATH"] = str(ROOT)
    return Phone(tmp_path / "phone" / "client.json", env)


@pytest.fixture
def chromium():
    """Debian's chromium under Playwright (never a downloaded browser).

    One per test: Playwright's sync API keeps its event loop current while it runs, which
    would break the asyncio tests that come after a longer-lived browser."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), as "
            ".ci/run does, or point PULSE_TEST_CHROMIUM at one."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


# Collects CSP violations in the page itself (console messages alone may miss report-only).
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


@dataclass
class Watched:
    """A page and what its console and CSP said."""

    page: object
    errors: list[str]

    def problems(self, expected_400s: int = 0) -> list[str]:
        """Console errors and CSP violations so far. Chromium logs every 4xx answer to a fetch
        as a console error: ``expected_400s`` is how many validation answers the test caused
        on purpose; any other, or any other error, is a problem."""
        refused = [e for e in self.errors if "status of 400" in e]
        others = [e for e in self.errors if "status of 400" not in e]
        if len(refused) != expected_400s:
            others += refused
        return others + list(self.page.evaluate("window.__cspViolations || []"))


def open_page(chromium, width: int, **context) -> Watched:
    """A fresh browser context at ``width`` px, watching the console and CSP."""
    ctx = chromium.new_context(
        viewport={"width": width, "height": 900}, accept_downloads=True, **context
    )
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    page.add_init_script(WATCH_CSP)
    errors: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    return Watched(page, errors)


def log_in(page, url: str) -> None:
    """Sign in as the owner from the start page."""
    page.goto(f"{url}/")
    page.get_by_label("Username").fill(OWNER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/settings/relay")


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
