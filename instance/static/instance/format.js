// Pure formatting helpers for Settings → Relay (no DOM), unit-tested with `node --test`.

/** "4:05" for 245 seconds; "0:00" once time is up. */
export function formatCountdown(seconds) {
  const whole = Math.max(0, Math.ceil(seconds));
  const minutes = Math.floor(whole / 60);
  const rest = String(whole % 60).padStart(2, "0");
  return `${minutes}:${rest}`;
}

/** The 6-digit verification code as the phone shows it: "562 849". */
export function formatCode(code) {
  const digits = String(code || "").replace(/\D/g, "");
  return digits.length === 6 ? `${digits.slice(0, 3)} ${digits.slice(3)}` : digits;
}

/** A short, local date and time for an ISO timestamp or Unix seconds; "—" for nothing. */
export function formatTime(value, locale = undefined) {
  if (value === null || value === undefined || value === "") return "—";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return "—";
  return date.toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" });
}

/** "in 12 s", "in 3 min", "just now", "5 min ago" relative to `now` (milliseconds). */
export function formatRelative(value, now = Date.now()) {
  if (value === null || value === undefined || value === "") return "never";
  const at = typeof value === "number" ? value * 1000 : Date.parse(value);
  if (Number.isNaN(at)) return "never";
  const seconds = Math.round((at - now) / 1000);
  const size = Math.abs(seconds);
  let text;
  if (size < 5) return "just now";
  if (size < 90) text = `${size} s`;
  else if (size < 90 * 60) text = `${Math.round(size / 60)} min`;
  else if (size < 36 * 3600) text = `${Math.round(size / 3600)} h`;
  else text = `${Math.round(size / 86400)} days`;
  return seconds > 0 ? `in ${text}` : `${text} ago`;
}

/** One line of text from an API error body: DRF's {detail}, {field: [messages]} or diagnostics. */
export function errorText(body, status) {
  if (!body || typeof body !== "object") return `The instance answered ${status}.`;
  if (Array.isArray(body.diagnostics) && body.diagnostics.length) {
    return body.diagnostics.map((d) => d.message).join(" ");
  }
  if (typeof body.detail === "string") return body.detail;
  const parts = [];
  for (const [field, messages] of Object.entries(body)) {
    const list = Array.isArray(messages) ? messages : [String(messages)];
    parts.push(field === "non_field_errors" ? list.join(" ") : `${list.join(" ")}`);
  }
  return parts.join(" ") || `The instance answered ${status}.`;
}

/** The messages for one field of a DRF 400 body, or "". */
export function fieldError(body, field) {
  const messages = body && body[field];
  if (!messages) return "";
  return Array.isArray(messages) ? messages.join(" ") : String(messages);
}

/** A compact one-line view of an audit event's details. */
export function describeDetails(details) {
  if (!details || typeof details !== "object") return "";
  return Object.entries(details)
    .map(([key, value]) => `${key}=${typeof value === "object" ? JSON.stringify(value) : value}`)
    .join(", ");
}

/** Query string for the audit API from filter values, leaving out empty ones. Dates are
 * whole days: "until" includes the day it names. */
export function auditQuery(filters, extra = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) {
    if (!value) continue;
    if (key === "since") params.set(key, `${value}T00:00:00Z`);
    else if (key === "until") {
      const day = new Date(`${value}T00:00:00Z`);
      day.setUTCDate(day.getUTCDate() + 1);
      params.set(key, day.toISOString());
    } else params.set(key, value);
  }
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return params.toString();
}
