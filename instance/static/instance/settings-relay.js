// Settings → Relay: applies the parts the instance pushes (server-sent events) and makes the
// owner's changes through the instance API with the session (CSRF header). No framework, no
// build step; every value from the server goes into the page as text, never as HTML.

import {
  auditQuery,
  describeDetails,
  errorText,
  fieldError,
  formatCode,
  formatCountdown,
  formatRelative,
  formatTime,
} from "./format.js";

const $ = (id) => document.getElementById(id);
const app = $("app");
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const state = JSON.parse($("initial-state").textContent);

// --- small helpers ---------------------------------------------------------------------------

/** Call the instance API as the logged-in owner; resolves to {ok, status, body}. */
async function api(method, url, body) {
  const headers = { Accept: "application/json", "X-CSRFToken": csrf };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return { ok: false, status: 0, body: { detail: "The instance cannot be reached: check your connection." } };
  }
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  return { ok: response.ok, status: response.status, body: data };
}

/** Make an element: el("li", {class: "x", dataset: {id: 1}}, "text", child...). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function show(node, text) {
  if (!node) return;
  node.textContent = text || "";
  node.hidden = !text;
}

/** Run an action with its button disabled, so a double click cannot submit twice. */
async function busy(button, action) {
  if (button.disabled) return;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    await action();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

function times(root = document) {
  for (const node of root.querySelectorAll("time[data-at]")) {
    const at = node.dataset.at;
    if (!at) continue;
    const value = /^\d+(\.\d+)?$/.test(at) ? Number(at) : at;
    node.textContent = node.dataset.relative === "true" ? formatRelative(value) : formatTime(value);
    node.title = formatTime(value);
  }
}

// --- relay -----------------------------------------------------------------------------------

function renderRelay(relay) {
  state.relay = relay;
  if (!relay || relay.problem) return;
  const badge = $("relay-state");
  badge.textContent = relay.state_words;
  badge.dataset.state = relay.state;
  const toggle = $("relay-enabled");
  if (toggle.dataset.pending !== "true") toggle.checked = relay.enabled;
  toggle.disabled = Boolean(relay.overrides.enabled);
  $("enabled-override").hidden = !relay.overrides.enabled;
  $("relay-instance").textContent = relay.instance_id || "—";
  $("relay-fingerprint").textContent = relay.identity_fingerprint || "—";
  $("relay-channels").textContent = relay.open_channels;
  $("relay-online").textContent = relay.devices_online;
  $("relay-problem").hidden = !relay.last_error;
  $("relay-error").textContent = relay.last_error;
  $("relay-advice").textContent = relay.advice;
  const retry = $("relay-retry-at");
  retry.dataset.at = relay.next_retry_at || "";
  retry.dataset.relative = "true";
  $("relay-retry").hidden = !relay.next_retry_at;
  const url = $("server-url");
  url.readOnly = Boolean(relay.overrides.server_url);
  if (document.activeElement !== url && url.dataset.dirty !== "true") url.value = relay.server_url;
  renderLicence(relay.licence);
  times($("relay"));
}

function renderLicence(licence) {
  const summary = $("licence-summary");
  summary.replaceChildren();
  if (licence) {
    summary.append(
      el(
        "dl",
        { class: "facts" },
        el("div", {}, el("dt", {}, "Name"), el("dd", { id: "licence-name" }, licence.name || "—")),
        el("div", {}, el("dt", {}, "Features"), el("dd", {}, (licence.features || []).join(", ") || "—")),
        el(
          "div",
          {},
          el("dt", {}, "Expires"),
          el("dd", {}, el("time", { dataset: { at: licence.expires_at || "" } }, licence.expires_at || "—")),
        ),
      ),
    );
  }
  const problem = !licence
    ? "No licence is stored: paste the licence token from your relay operator."
    : licence.valid
      ? ""
      : licence.problem;
  summary.append(el("p", { class: "error", id: "licence-problem", hidden: !problem }, problem));
  times(summary);
}

$("relay-enabled")?.addEventListener("change", async (event) => {
  const toggle = event.target;
  const wanted = toggle.checked;
  toggle.dataset.pending = "true";
  show($("enabled-error"), "");
  const result = await api("PUT", "/api/settings/relay", { enabled: wanted });
  toggle.dataset.pending = "false";
  if (!result.ok) {
    toggle.checked = !wanted;
    show($("enabled-error"), errorText(result.body, result.status));
    return;
  }
  // The status badge follows from the stream: the connector acts on the change within a second.
  state.relay = { ...state.relay, enabled: wanted };
});

$("server-url")?.addEventListener("input", (event) => {
  event.target.dataset.dirty = "true";
});

$("server-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("server-url");
  const button = event.target.querySelector("button");
  await busy(button, async () => {
    show($("server-error"), "");
    input.removeAttribute("aria-invalid");
    const result = await api("PUT", "/api/settings/relay", { server_url: input.value.trim() });
    if (!result.ok) {
      input.setAttribute("aria-invalid", "true");
      show($("server-error"), fieldError(result.body, "server_url") || errorText(result.body, result.status));
      return;
    }
    input.dataset.dirty = "false";
    renderRelay({ ...state.relay, ...pick(result.body, ["server_url", "enabled", "instance_id", "licence"]) });
  });
});

$("licence-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("licence-token");
  const button = event.target.querySelector("button");
  await busy(button, async () => {
    show($("licence-error"), "");
    input.removeAttribute("aria-invalid");
    const token = input.value.trim();
    if (!token) {
      input.setAttribute("aria-invalid", "true");
      show($("licence-error"), "Paste the licence token first.");
      return;
    }
    const replace = $("replace-instance");
    const result = await api("PUT", "/api/settings/relay", { licence_token: token, replace_instance: replace.checked });
    if (!result.ok) {
      input.setAttribute("aria-invalid", "true");
      const message = fieldError(result.body, "licence_token") || errorText(result.body, result.status);
      show($("licence-error"), message);
      // A valid licence for another instance id can be taken on purpose, once confirmed.
      $("replace-instance-row").hidden = !message.includes("is for instance");
      return;
    }
    input.value = "";
    replace.checked = false;
    $("replace-instance-row").hidden = true;
    renderRelay({ ...state.relay, ...pick(result.body, ["licence", "instance_id"]) });
  });
});

function pick(source, keys) {
  const out = {};
  for (const key of keys) if (source && key in source) out[key] = source[key];
  return out;
}

// --- pairing ---------------------------------------------------------------------------------

let pairing = null; // {id, expiresAt}
let countdown = null;

function tick() {
  if (!pairing) return;
  const left = (pairing.expiresAt - Date.now()) / 1000;
  const panel = $("pair-panel");
  if (left <= 0) {
    panel.classList.add("expired");
    $("pair-countdown").textContent = "This code has expired: press New code for another.";
    clearInterval(countdown);
    countdown = null;
    return;
  }
  panel.classList.remove("expired");
  $("pair-countdown").textContent = `Expires in ${formatCountdown(left)}`;
}

async function startPairing(button) {
  await busy(button, async () => {
    show($("pair-error"), "");
    const result = await api("POST", "/api/onboarding/qr");
    if (!result.ok) {
      show($("pair-error"), errorText(result.body, result.status));
      return;
    }
    const body = result.body;
    // Count down from what the instance says is left, not from its expiry time: this device's
    // clock may be minutes off the instance's.
    pairing = { id: body.pairing_id, expiresAt: Date.now() + body.expires_in * 1000 };
    $("pair-qr").src = body.qr_png;
    $("pair-link").value = body.deep_link;
    $("pair-panel").hidden = false;
    $("pair-button").hidden = true;
    clearInterval(countdown);
    countdown = setInterval(tick, 1000);
    tick();
  });
}

async function cancelPairing() {
  if (!pairing) return;
  const id = pairing.id;
  pairing = null;
  clearInterval(countdown);
  countdown = null;
  await api("DELETE", `/api/onboarding/sessions/${encodeURIComponent(id)}`);
}

function closePairPanel() {
  $("pair-panel").hidden = true;
  $("pair-button").hidden = false;
  $("pair-qr").removeAttribute("src");
  $("pair-link").value = "";
}

$("pair-button")?.addEventListener("click", (event) => startPairing(event.currentTarget));
$("pair-new")?.addEventListener("click", async (event) => {
  const button = event.currentTarget;
  await cancelPairing();
  await startPairing(button);
});
$("pair-cancel")?.addEventListener("click", async () => {
  await cancelPairing();
  closePairPanel();
});
$("pair-copy")?.addEventListener("click", async (event) => {
  const button = event.currentTarget;
  const link = $("pair-link");
  try {
    await navigator.clipboard.writeText(link.value);
  } catch {
    link.select();
    document.execCommand("copy");
  }
  button.textContent = "Copied";
  setTimeout(() => (button.textContent = "Copy link"), 1500);
});

function renderPairings(sessions) {
  state.pairings = sessions;
  const list = $("pairings");
  list.replaceChildren();
  if (!sessions.length) list.append(el("li", { class: "empty" }, "None open."));
  for (const session of sessions) {
    const cancel = el("button", { type: "button", class: "small", "aria-label": `Cancel pairing code ${session.short}` }, "Cancel");
    cancel.addEventListener("click", () =>
      busy(cancel, async () => {
        if (pairing && pairing.id === session.id) {
          await cancelPairing();
          closePairPanel();
        } else {
          await api("DELETE", `/api/onboarding/sessions/${encodeURIComponent(session.id)}`);
        }
      }),
    );
    list.append(
      el(
        "li",
        { dataset: { id: session.id } },
        el(
          "span",
          {},
          "Code ",
          el("code", {}, session.short),
          ", expires ",
          el("time", { dataset: { at: session.expires_at, relative: "true" } }),
          ` · ${session.attempts} of ${session.max_attempts} tries used`,
        ),
        cancel,
      ),
    );
  }
  times(list);
  // The code on screen was used or ended elsewhere: close it.
  if (pairing && !sessions.some((s) => s.id === pairing.id) && Date.now() < pairing.expiresAt) {
    pairing = null;
    clearInterval(countdown);
    countdown = null;
    closePairPanel();
  }
}

// --- devices ---------------------------------------------------------------------------------

let revokeTarget = null;

function pendingItem(device) {
  const codeInput = el("input", {
    id: `code-${device.id}`,
    inputmode: "numeric",
    autocomplete: "off",
    maxlength: "7",
    pattern: "[0-9 ]{6,7}",
    "aria-describedby": `code-error-${device.id}`,
  });
  const error = el("p", { class: "error", id: `code-error-${device.id}`, role: "alert", hidden: true });
  const approve = el("button", { type: "submit", class: "primary" }, "Approve");
  const reject = el("button", { type: "button", class: "danger" }, "Reject");
  const form = el(
    "form",
    { class: "approve-form", novalidate: true },
    el("label", { for: `code-${device.id}` }, "Code on the phone"),
    el("div", { class: "field-row" }, codeInput, approve, reject),
    error,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(approve, async () => {
      show(error, "");
      const result = await api("POST", `/api/devices/${device.id}/approve`, { code: codeInput.value.trim() });
      if (!result.ok) {
        codeInput.setAttribute("aria-invalid", "true");
        show(error, fieldError(result.body, "code") || errorText(result.body, result.status));
        return;
      }
      moveDevice(result.body);
    });
  });
  reject.addEventListener("click", () =>
    busy(reject, async () => {
      const result = await api("DELETE", `/api/devices/${device.id}`);
      if (!result.ok) show(error, errorText(result.body, result.status));
      else renderDevices(state.devices.filter((d) => d.id !== device.id));
    }),
  );
  return el(
    "li",
    { class: "device pending", dataset: { id: device.id } },
    el(
      "div",
      { class: "device-main" },
      el("strong", { class: "device-name" }, device.name),
      el("span", { class: "muted" }, device.platform || "unknown platform"),
      el("span", {}, "Verification code ", el("span", { class: "code", dataset: { code: device.code } }, formatCode(device.code))),
      el("span", { class: "muted" }, "Fingerprint ", el("code", {}, device.fingerprint)),
    ),
    form,
  );
}

function moveDevice(updated) {
  const rows = state.devices.map((d) =>
    d.id === updated.id ? { ...d, status: updated.status, name: updated.name, code: "", online: updated.online } : d,
  );
  renderDevices(rows);
}

function activeItem(device) {
  const name = el("strong", { class: "device-name" }, device.name);
  const rename = el("button", { type: "button", class: "small", "aria-label": `Rename ${device.name}` }, "Rename");
  const revoke = el("button", { type: "button", class: "small danger", "aria-label": `Revoke ${device.name}` }, "Revoke");
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const item = el(
    "li",
    { class: "device active", dataset: { id: device.id } },
    el(
      "div",
      { class: "device-main" },
      el(
        "span",
        { class: "dot", dataset: { online: String(device.online) }, role: "img", "aria-label": device.online ? "online" : "offline", title: device.online ? "online" : "offline" },
      ),
      name,
      el("span", { class: "muted" }, device.platform || "unknown platform"),
      el("span", { class: "online-text" }, device.online ? "Online" : "Offline"),
    ),
    el(
      "dl",
      { class: "facts small" },
      el("div", {}, el("dt", {}, "Fingerprint"), el("dd", {}, el("code", {}, device.fingerprint))),
      el("div", {}, el("dt", {}, "Paired"), el("dd", {}, el("time", { dataset: { at: device.paired_at } }))),
      el("div", {}, el("dt", {}, "Last seen"), el("dd", {}, el("time", { dataset: { at: device.last_seen_at || "", relative: "true" } }, "never"))),
    ),
    el("div", { class: "button-row" }, rename, revoke),
    error,
  );
  rename.addEventListener("click", () => startRename(item, device, name, error));
  revoke.addEventListener("click", () => {
    revokeTarget = device;
    $("revoke-name").textContent = device.name;
    $("revoke-dialog").showModal();
  });
  return item;
}

function startRename(item, device, nameNode, error) {
  const input = el("input", { value: device.name, maxlength: "100", "aria-label": "New name" });
  const save = el("button", { type: "submit", class: "small primary" }, "Save");
  const cancel = el("button", { type: "button", class: "small" }, "Cancel");
  const form = el("form", { class: "field-row rename-form" }, input, save, cancel);
  nameNode.replaceWith(form);
  input.focus();
  input.select();
  cancel.addEventListener("click", () => form.replaceWith(nameNode));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(save, async () => {
      show(error, "");
      const result = await api("PATCH", `/api/devices/${device.id}`, { name: input.value });
      if (!result.ok) {
        show(error, fieldError(result.body, "name") || errorText(result.body, result.status));
        return;
      }
      nameNode.textContent = result.body.name;
      form.replaceWith(nameNode);
      moveDevice(result.body);
    });
  });
}

$("revoke-dialog")?.addEventListener("close", async (event) => {
  const dialog = event.target;
  const device = revokeTarget;
  revokeTarget = null;
  if (dialog.returnValue !== "revoke" || !device) return;
  const result = await api("DELETE", `/api/devices/${device.id}`);
  if (result.ok) renderDevices(state.devices.filter((d) => d.id !== device.id));
});

function renderDevices(devices) {
  state.devices = devices;
  const pending = $("pending-devices");
  const active = $("active-devices");
  if (!pending || !active) return;
  // Keep what the owner is typing: a pending device that is still pending keeps its form.
  const typing = new Map();
  for (const item of pending.querySelectorAll("li[data-id]")) {
    const input = item.querySelector("input");
    if (input && input.value) typing.set(item.dataset.id, { value: input.value, focused: document.activeElement === input });
  }
  if (active.querySelector(".rename-form")) {
    // Renaming in progress: refresh only the online indicators.
    for (const device of devices) {
      const dot = active.querySelector(`li[data-id="${device.id}"] .dot`);
      if (dot) dot.dataset.online = String(device.online);
    }
  } else {
    active.replaceChildren(...devices.filter((d) => d.status === "active").map(activeItem));
    if (!active.children.length) active.append(el("li", { class: "empty" }, "No active devices yet: pair a phone."));
  }
  pending.replaceChildren(...devices.filter((d) => d.status === "pending").map(pendingItem));
  if (!pending.children.length) pending.append(el("li", { class: "empty" }, "No device is waiting."));
  for (const [id, kept] of typing) {
    const input = pending.querySelector(`li[data-id="${id}"] input`);
    if (input) {
      input.value = kept.value;
      if (kept.focused) input.focus();
    }
  }
  times($("devices-section"));
}

// --- audit trail -----------------------------------------------------------------------------

let auditNext = null;
let auditHead = null;

function auditFilters() {
  const form = $("audit-filters");
  return Object.fromEntries(new FormData(form).entries());
}

function auditRow(event) {
  return el(
    "tr",
    { dataset: { seq: event.seq, event: event.event } },
    el("td", { dataset: { label: "#" } }, event.seq),
    el("td", { dataset: { label: "Time" } }, el("time", { dataset: { at: event.time } })),
    el("td", { dataset: { label: "Event" } }, el("code", {}, event.event)),
    el("td", { dataset: { label: "Outcome" } }, el("span", { class: "outcome", dataset: { outcome: event.outcome } }, event.outcome)),
    el("td", { dataset: { label: "Actor" } }, event.actor || "—"),
    el("td", { class: "details", dataset: { label: "Details" } }, describeDetails(event.details)),
  );
}

async function loadAudit({ more = false } = {}) {
  const rows = $("audit-rows");
  const url = more && auditNext ? auditNext : `/api/audit?${auditQuery(auditFilters(), { limit: "25" })}`;
  const result = await api("GET", url);
  if (!result.ok) {
    show($("audit-error"), fieldError(result.body, "since") || fieldError(result.body, "until") || errorText(result.body, result.status));
    return;
  }
  show($("audit-error"), "");
  auditNext = result.body.next;
  const items = result.body.results.map(auditRow);
  if (more) rows.append(...items);
  else rows.replaceChildren(...items);
  if (!rows.children.length) rows.append(el("tr", {}, el("td", { colspan: "6", class: "muted" }, "No events match.")));
  $("audit-more").hidden = !auditNext;
  const names = $("audit-events");
  const known = new Set([...names.options].map((o) => o.value));
  for (const event of result.body.results) {
    if (!known.has(event.event)) {
      known.add(event.event);
      names.append(el("option", { value: event.event }));
    }
  }
  times(rows);
  const query = auditQuery(auditFilters());
  $("export-jsonl").href = `/api/audit/export.jsonl${query ? `?${query}` : ""}`;
  $("export-csv").href = `/api/audit/export.csv${query ? `?${query}` : ""}`;
}

async function checkChain() {
  const badge = $("chain-state");
  const result = await api("GET", "/api/audit/verify");
  if (!result.ok) {
    badge.dataset.state = "unknown";
    badge.textContent = "Chain not checked";
    return;
  }
  const body = result.body;
  badge.dataset.state = body.intact ? "intact" : "broken";
  badge.textContent = body.intact
    ? body.through
      ? `Chain intact through #${body.through}`
      : "Chain intact (empty)"
    : `Chain broken at #${body.broken_at}: ${body.reason}`;
}

function renderAudit(audit) {
  if (!audit || audit.head === auditHead) return;
  const first = auditHead === null;
  auditHead = audit.head;
  if (!first) {
    loadAudit();
    checkChain();
  }
}

$("audit-filters")?.addEventListener("submit", (event) => {
  event.preventDefault();
  loadAudit();
});
$("audit-more")?.addEventListener("click", (event) => busy(event.currentTarget, () => loadAudit({ more: true })));

// --- plain forms (tokens, sign out): one submission each -------------------------------------

for (const form of document.querySelectorAll('form[method="post"]')) {
  form.addEventListener("submit", (event) => {
    if (form.dataset.submitted === "true") {
      event.preventDefault();
      return;
    }
    form.dataset.submitted = "true";
    for (const button of form.querySelectorAll("button")) button.setAttribute("aria-disabled", "true");
  });
}

// --- live updates ----------------------------------------------------------------------------

const renderers = { relay: renderRelay, devices: renderDevices, pairings: renderPairings, audit: renderAudit };

function connect() {
  const live = $("live");
  const source = new EventSource(app.dataset.eventsUrl);
  for (const [name, render] of Object.entries(renderers)) {
    source.addEventListener(name, (event) => {
      try {
        render(JSON.parse(event.data));
      } catch (error) {
        console.warn(`could not apply the ${name} part`, error);
      }
    });
  }
  source.addEventListener("open", () => {
    live.textContent = "Live";
    live.dataset.live = "true";
  });
  source.addEventListener("error", () => {
    live.textContent = "Reconnecting to the instance…";
    live.dataset.live = "false";
  });
}

if (state.relay && !state.relay.problem) renderRelay(state.relay);
if ($("pending-devices")) renderDevices(state.devices || []);
if ($("pairings")) renderPairings(state.pairings || []);
renderAudit(state.audit);
loadAudit();
checkChain();
times();
setInterval(() => times(), 15000);
connect();
