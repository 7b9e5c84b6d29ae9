// Demo parameters on the page: cleaning a raw value, slider positions, and the URL state.
//
// coerce() is the twin of gradclip.demos._coerce (same value, same notice, word for word) and
// valueToSlider() of site_hooks/demo_blocks.py's _slider_position: the page clamps a tampered
// link or a typed value before asking the worker, and the worker validates again, so the two
// must agree. tests/browser/test_js_parity_browser.py checks both against Python for every parameter of
// every demo. A file's text passes through unchanged: only the worker checks its size.

import { SLIDER_STEPS } from "./generated.js";
import { formatNumber } from "./format.js";

// Python's round(): halves go to the even neighbour.
export function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
}

// Python's repr() of a value as it appears in a notice: 'text' in quotes, None, True/False.
// Like Python, it escapes what is not printable (controls, format characters such as the
// right-to-left override, separators other than the space), so a crafted link cannot make a
// notice read differently from what it says.
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function pyEscape(c, q) {
  const named = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", [q]: `\\${q}` };
  if (named[c]) return named[c];
  if (c === " " || !NOT_PRINTABLE.test(c)) return c;
  const code = c.codePointAt(0);
  if (code < 0x100) return `\\x${code.toString(16).padStart(2, "0")}`;
  if (code < 0x10000) return `\\u${code.toString(16).padStart(4, "0")}`;
  return `\\U${code.toString(16).padStart(8, "0")}`;
}

function pyRepr(v) {
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v !== "string") return String(v);
  const q = v.includes("'") && !v.includes('"') ? '"' : "'";
  return q + Array.from(v, (c) => pyEscape(c, q)).join("") + q;
}

const pyStr = (v) => (typeof v === "boolean" ? (v ? "True" : "False") : String(v));

// Python's float() of a value from a control or a link: NaN where Python raises.
const FLOAT_SYNTAX = /^[+-]?(?:(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?|inf(?:inity)?|nan)$/i;
function pyFloat(raw) {
  if (typeof raw === "number") return { x: raw, ok: true };
  if (typeof raw === "boolean") return { x: Number(raw), ok: true };
  if (typeof raw !== "string") return { x: NaN, ok: false };
  const s = raw.trim();
  if (!FLOAT_SYNTAX.test(s)) return { x: NaN, ok: false };
  const body = s.replace(/^[+-]/, "").toLowerCase();
  const sign = s.startsWith("-") ? -1 : 1;
  if (body.startsWith("inf")) return { x: sign * Infinity, ok: true };
  if (body === "nan") return { x: NaN, ok: true };
  return { x: Number(s.replace(/_/g, "")), ok: true };
}

function coerceNumber(p, raw, label) {
  const { x, ok } = pyFloat(raw);
  if (!ok) return [p.default, `${label}: ${pyRepr(raw)} is not a number; using ${formatNumber(p.default)}.`];
  if (Number.isNaN(x)) return [p.default, `${label}: NaN is not allowed; using ${formatNumber(p.default)}.`];
  const lo = p.min === null ? -Infinity : p.min;
  const hi = p.max === null ? Infinity : p.max;
  let v = x;
  let notice = null;
  if (x < lo || x > hi) {
    v = Math.min(Math.max(x, lo), hi);
    notice = `${label}: ${formatNumber(x)} is outside the allowed range ${formatNumber(lo)} to ${formatNumber(hi)}; using ${formatNumber(v)}.`;
  }
  if (p.kind === "int") v = roundHalfEven(v);
  return [v, notice];
}

/** Clean one raw value (from a control or the URL) against its Param spec: [value, notice]. */
export function coerce(p, raw) {
  const label = p.label || p.name;
  if (p.kind === "choice") {
    const allowed = p.choices.map((c) => c[0]);
    if (allowed.includes(String(raw))) return [String(raw), null];
    return [p.default, `${label}: ${pyRepr(raw)} is not one of ${allowed.join(", ")}; using ${pyRepr(p.default)}.`];
  }
  if (p.kind === "bool") {
    if (typeof raw === "boolean") return [raw, null];
    const s = String(raw).trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(s)) return [true, null];
    if (["0", "false", "no", "off", ""].includes(s)) return [false, null];
    return [p.default, `${label}: ${pyRepr(raw)} is not true or false; using ${pyStr(p.default)}.`];
  }
  if (p.kind === "file") return [raw, null];
  if (p.kind === "hidden" && p.min === null && typeof p.default !== "number") return [raw, null];
  if (["float", "int", "hidden"].includes(p.kind)) return coerceNumber(p, raw, label);
  return [raw, null];
}

/** The value at a slider position (0 … SLIDER_STEPS), rounded to 3 significant digits. */
export function sliderToValue(p, pos) {
  const t = Number(pos) / SLIDER_STEPS;
  const v = p.log ? 10 ** (Math.log10(p.min) + t * (Math.log10(p.max) - Math.log10(p.min)))
                  : p.min + t * (p.max - p.min);
  return p.kind === "int" ? Math.round(v) : Number(v.toPrecision(3));
}

/** Where a value sits on its slider: the twin of demo_blocks._slider_position. */
export function valueToSlider(p, v) {
  const lo = p.log ? Math.log10(p.min) : p.min;
  const hi = p.log ? Math.log10(p.max) : p.max;
  const x = p.log ? Math.log10(Math.max(v, p.min)) : v;
  return hi > lo ? roundHalfEven((SLIDER_STEPS * (x - lo)) / (hi - lo)) : 0;
}

/**
 * Parameters from a page's query string (a shared link): {values, notices}. Every value is
 * cleaned by coerce(). Unknown keys (except Material's search key `q`) are reported in one
 * notice, however many there are; only the spec's own entries count as known, so keys such
 * as `__proto__` or `toString` are unknown like any other.
 */
export function paramsFromQuery(specs, search) {
  const values = Object.create(null);
  const notices = [];
  const unknown = [];
  for (const [key, raw] of new URLSearchParams(search)) {
    if (!Object.hasOwn(specs, key)) { if (key !== "q") unknown.push(key); continue; }
    const [v, note] = coerce(specs[key], raw);
    values[key] = v;
    if (note) notices.push(`From the link: ${note}`);
  }
  if (unknown.length) notices.push(unknownKeysNotice(unknown));
  return { values: { ...values }, notices };
}

const SHOWN_KEYS = 3;   // unknown keys named in the notice; the rest are counted

function unknownKeysNotice(keys) {
  const names = [...new Set(keys)];
  const quoted = names.slice(0, SHOWN_KEYS).map((k) => pyRepr(k.length > 40 ? `${k.slice(0, 40)}…` : k));
  const more = names.length > SHOWN_KEYS ? ` and ${(names.length - SHOWN_KEYS).toLocaleString("en")} more` : "";
  const which = names.length === 1 ? `setting ${quoted[0]} is` : `settings ${quoted.join(", ")}${more} are`;
  return `The link's ${which} not known here; ${names.length === 1 ? "it was" : "they were"} ignored.`;
}

/** The query string for a link: only what differs from the page's defaults (short links). */
export function queryFromParams(paramList, params, initial) {
  const q = new URLSearchParams();
  for (const p of paramList) {
    const v = params[p.name];
    if (p.kind === "file" || v === undefined || v === null) continue;
    if (v === initial[p.name]) continue;
    q.set(p.name, typeof v === "number" ? String(Number(v.toPrecision(6))) : String(v));
  }
  return q.toString();
}
