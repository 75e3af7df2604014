"""The owner's whole journey on Settings → Relay in a real browser: log in, switch the relay
off and on, pair the reference client from the QR image on the page, approve it with the code
it printed, see it online while it calls home, rename it, revoke it, and find every step in
the audit trail on the page and in its exports."""

import base64
import csv
import io
import json
import re

import pytest
from playwright.sync_api import expect

from relay import operator
from relayproto import licence
from tests.browser.conftest import log_in, open_page, screenshot

pytestmark = pytest.mark.slow

JOURNEY_EVENTS = [
    "settings.changed",
    "relay.connected",
    "pairing.created",
    "pairing.completed",
    "device.approved",
    "channel.opened",
    "device.renamed",
    "device.revoked",
]


def test_the_owner_pairs_uses_renames_and_revokes_a_phone(product, phone, chromium, tmp_path):
    watched = open_page(chromium, 1280)
    page = watched.page
    log_in(page, product.url)
    expect(page.locator("#live")).to_have_text("Live")
    state = page.locator("#relay-state")
    expect(state).to_have_text("Connected", timeout=30_000)

    # The switch takes effect at once, and the status follows within 2 s.
    switch = page.get_by_role("switch", name="Relay enabled")
    expect(switch).to_be_checked()
    switch.click()
    expect(state).to_have_text("Disabled", timeout=2_000)
    switch.click()
    expect(state).to_have_text("Connected", timeout=20_000)

    # Pair: the QR code on the page is what the phone's camera reads.
    page.get_by_role("button", name="Pair a phone").click()
    qr = page.get_by_role("img", name="Pairing QR code")
    expect(qr).to_be_visible()
    expect(page.locator("#pair-countdown")).to_have_text(re.compile(r"Expires in \d+:\d\d"))
    src = qr.get_attribute("src")
    assert src.startswith("data:image/png;base64,")
    image = tmp_path / "camera.png"
    image.write_bytes(base64.b64decode(src.split(",", 1)[1]))
    paired = phone.run("pair", str(image), "--name", "home", "--device-name", "Ann's phone")
    assert paired.returncode == 0, paired.stderr
    code = re.search(r"Verification code: (\d{3} \d{3})", paired.stdout + paired.stderr).group(1)

    # The pending device appears by itself, with the code the phone printed.
    pending = page.locator("#pending-devices li.device")
    expect(pending).to_have_count(1)
    expect(pending.locator(".code")).to_have_text(code)
    expect(page.get_by_role("img", name="Pairing QR code")).to_be_hidden()  # the code was used
    pending.get_by_label("Code on the phone").fill("000000" if code != "000 000" else "111111")
    pending.get_by_role("button", name="Approve").click()
    expect(pending.locator(".error")).to_contain_text("does not match")
    pending.get_by_label("Code on the phone").fill(code)
    pending.get_by_role("button", name="Approve").click()
    active = page.locator("#active-devices li.device")
    expect(active).to_have_count(1)
    expect(active.locator(".device-name")).to_have_text("Ann's phone")

    # While the phone streams from home, the device shows online.
    stream = phone.start("sse", "/api/monitor/stream?interval=1&count=6")
    expect(active.locator(".dot")).to_have_attribute("data-online", "true", timeout=10_000)
    screenshot(page, "settings-relay-1280")
    _, err = stream.communicate(timeout=60)
    assert stream.returncode == 0, err
    called = phone.run("request", "GET", "/api/monitor/sample")
    assert called.returncode == 0, called.stderr
    assert "load" in called.stdout
    expect(active.locator(".dot")).to_have_attribute("data-online", "false", timeout=10_000)

    # Rename in place.
    active.get_by_role("button", name="Rename Ann's phone").click()
    active.get_by_label("New name").fill("Kitchen tablet")
    active.get_by_role("button", name="Save").click()
    expect(active.locator(".device-name")).to_have_text("Kitchen tablet")

    # Revoke, with a confirmation; the phone is refused from then on.
    active.get_by_role("button", name="Revoke Kitchen tablet").click()
    page.get_by_role("button", name="Revoke device").click()
    expect(page.locator("#active-devices li.device")).to_have_count(0)
    refused = phone.run("request", "GET", "/api/monitor/sample", timeout=90)
    assert refused.returncode == 3, refused.stdout
    assert "error:" in refused.stderr

    # Every step is in the audit trail on the page, newest first, and in both exports.
    for event in JOURNEY_EVENTS:
        expect(page.locator(f'#audit-rows tr[data-event="{event}"]').first).to_be_visible()
    seqs = [int(s) for s in page.locator("#audit-rows tr td:first-child").all_inner_texts()]
    assert seqs == sorted(seqs, reverse=True)
    expect(page.locator("#chain-state")).to_have_text(re.compile(r"Chain intact through #\d+"))

    with page.expect_download() as download:
        page.get_by_role("link", name="Export JSON Lines").click()
    lines = download.value.path().read_text().splitlines()
    exported = [json.loads(line)["event"] for line in lines]
    assert set(JOURNEY_EVENTS) <= set(exported)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert {row["event"] for row in rows} == set(exported)

    assert watched.problems(expected_400s=1) == []  # the wrong code, on purpose


def test_bad_input_gets_an_inline_message_and_changes_nothing(product, chromium):
    watched = open_page(chromium, 1280)
    page = watched.page
    log_in(page, product.url)
    url = page.get_by_label("Relay URL")
    before = url.input_value()

    url.fill("http://not-a-websocket.example")
    page.locator("#server-form").get_by_role("button", name="Save").click()
    expect(page.locator("#server-error")).to_contain_text("ws://")
    expect(url).to_have_attribute("aria-invalid", "true")

    page.get_by_label("New licence token").fill("pulse-lic1.this-is-not-a-licence")
    page.get_by_role("button", name="Save licence").click()
    expect(page.locator("#licence-error")).to_be_visible()

    # A real licence, but for another instance: refused with the reason, unless confirmed.
    key = operator.load_private_key(operator.key_paths(product.data_dir)[0])
    other = licence.issue(key, name="cabin", days=30, instance_id="cabin-7")
    page.get_by_label("New licence token").fill(other)
    page.get_by_role("button", name="Save licence").click()
    expect(page.locator("#licence-error")).to_contain_text("is for instance 'cabin-7'")
    expect(page.locator("#replace-instance-row")).to_be_visible()

    # A token form sent twice in a hurry makes one token.
    page.get_by_label("Name", exact=True).fill("backup")
    page.get_by_label("audit:read").check()
    page.get_by_role("button", name="Create token").dblclick()
    expect(page.locator("#new-token")).to_be_visible()
    expect(page.locator("#tokens tbody tr")).to_have_count(1)

    page.reload()
    expect(page.get_by_label("Relay URL")).to_have_value(before)
    expect(page.locator("#licence-name")).to_have_text("this instance (make run)")
    assert watched.problems(expected_400s=3) == []


def test_an_expired_pairing_code_says_so_and_offers_a_new_one(product, chromium):
    watched = open_page(chromium, 390)
    page = watched.page
    page.clock.install()
    log_in(page, product.url)
    page.get_by_role("button", name="Pair a phone").click()
    expect(page.get_by_role("img", name="Pairing QR code")).to_be_visible()
    first_link = page.get_by_label("Link for this phone").input_value()
    page.clock.fast_forward("06:00")
    expect(page.locator("#pair-countdown")).to_have_text(
        "This code has expired: press New code for another."
    )
    page.get_by_role("button", name="New code").click()
    expect(page.locator("#pair-countdown")).to_have_text(re.compile(r"Expires in \d+:\d\d"))
    assert page.get_by_label("Link for this phone").input_value() != first_link
    page.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.get_by_role("img", name="Pairing QR code")).to_be_hidden()
    expect(page.locator("#pairings li.empty")).to_be_visible()
    assert watched.problems() == []
