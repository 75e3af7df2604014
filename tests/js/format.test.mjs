// Unit tests of the page's pure helpers (node --test, run by make test).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  auditQuery,
  describeDetails,
  errorText,
  fieldError,
  formatCode,
  formatCountdown,
  formatRelative,
} from "../../instance/static/instance/format.js";

test("countdown shows minutes and zero-padded seconds, never below zero", () => {
  assert.equal(formatCountdown(245), "4:05");
  assert.equal(formatCountdown(0.2), "0:01");
  assert.equal(formatCountdown(-3), "0:00");
});

test("the verification code reads as on the phone", () => {
  assert.equal(formatCode("562849"), "562 849");
  assert.equal(formatCode("56 2849"), "562 849");
  assert.equal(formatCode(""), "");
});

test("relative times say in or ago", () => {
  const now = Date.parse("2026-12-02T12:00:00Z");
  assert.equal(formatRelative("2026-12-02T12:00:30Z", now), "in 30 s");
  assert.equal(formatRelative("2026-12-02T11:55:00Z", now), "5 min ago");
  assert.equal(formatRelative(now / 1000 + 2, now), "just now");
  assert.equal(formatRelative(null, now), "never");
});

test("API errors become one readable line", () => {
  assert.equal(errorText({ detail: "Not allowed." }, 403), "Not allowed.");
  assert.equal(errorText({ server_url: ["Use ws:// or wss://."] }, 400), "Use ws:// or wss://.");
  assert.equal(
    errorText({ detail: "x", diagnostics: [{ message: "Enable it." }, { message: "Add a licence." }] }, 409),
    "Enable it. Add a licence.",
  );
  assert.equal(errorText(null, 502), "The instance answered 502.");
  assert.equal(fieldError({ code: ["Wrong code."] }, "code"), "Wrong code.");
  assert.equal(fieldError({}, "code"), "");
});

test("audit filters leave out empty values and make until inclusive", () => {
  const query = new URLSearchParams(
    auditQuery({ event: "device.revoked", actor: "", since: "2026-12-01", until: "2026-12-02" }, { limit: "25" }),
  );
  assert.equal(query.get("event"), "device.revoked");
  assert.equal(query.has("actor"), false);
  assert.equal(query.get("since"), "2026-12-01T00:00:00Z");
  assert.equal(query.get("until"), "2026-12-03T00:00:00.000Z");
  assert.equal(query.get("limit"), "25");
});

test("details read as key=value", () => {
  assert.equal(describeDetails({ device: 3, name: "Ann" }), "device=3, name=Ann");
  assert.equal(describeDetails({ changed: { enabled: [false, true] } }), 'changed={"enabled":[false,true]}');
});
