// Axes: nice ticks and the figure's layout (plot box, legend rows, data <-> pixel maps).
//
// The Python twin is the SVG writer's ticks() and layout(): the static picture and this canvas
// must put every tick and the plot box in the same place, or the figure jumps when the page
// goes live. tests/browser/test_js_parity_browser.py checks that for every sample figure and every demo's
// default figure. Sizes come from generated.js (written from Python at build time).

import { CHAR_EM, LABEL_FONT, LEGEND_GAP, LEGEND_ROW, LEGEND_SPACING, LEGEND_SWATCH, PAD, TICK_FONT, TITLE_FONT } from "./generated.js";
import { decimalValue, fixedLabel, log10Floor, powerLabel } from "./format.js";

function tickParts(lo, hi, log, n) {
  const anyBig = (parts) => parts.some(([, e]) => e < -3 || e > 3);
  if (log) {
    const e0 = Math.ceil(Math.log10(lo) - 1e-9);
    const e1 = Math.floor(Math.log10(hi) + 1e-9);
    const count = e1 - e0 + 1;
    if (count >= 2) {
      const stride = Math.max(1, Math.ceil(count / (n + 3)));
      const start = Math.ceil(e0 / stride) * stride;
      const parts = [];
      for (let e = start; e <= e1; e += stride) parts.push([1, e]);
      return [parts, anyBig(parts)];
    }
    const parts = [];
    for (let e = log10Floor(lo); e <= log10Floor(hi); e++) {
      for (const m of [1, 2, 5]) {
        const v = decimalValue(m, e);
        if (lo * (1 - 1e-9) <= v && v <= hi * (1 + 1e-9)) parts.push([m, e]);
      }
    }
    if (parts.length >= 3) return [parts, anyBig(parts)];
  }
  const mag = Math.max(Math.abs(lo), Math.abs(hi));
  if (hi - lo < mag * 1e-9) {
    // Too narrow for its magnitude: one tick in the middle, 6 significant digits (as svg.py).
    const mid = (lo + hi) / 2;
    const big = log10Floor(Math.abs(mid));
    const a = Math.floor(mid / decimalValue(1, big - 5) + 0.5);
    return [[[a, big - 5]], big >= 5 || big <= -4];
  }
  const raw = (hi - lo) / n;
  if (!(Number.isFinite(raw) && raw > 1e-300)) throw new RangeError(`lo and hi must span a range a double can divide, got ${lo} to ${hi}`);
  let e = log10Floor(raw);
  const f = raw / decimalValue(1, e);
  let m = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  if (m === 10) { m = 1; e += 1; }
  let k0, k1;
  for (;;) {
    const step = decimalValue(m, e);
    k0 = Math.ceil(lo / step - 1e-9);
    k1 = Math.floor(hi / step + 1e-9);
    if (k1 > k0) break;
    // Fewer than two ticks (a short axis over an awkward range): the next smaller step.
    [m, e] = m === 5 ? [2, e] : m === 2 ? [1, e] : [5, e - 1];
  }
  const parts = [];
  for (let k = k0; k <= k1; k++) parts.push([k * m, e]);
  let biggest = -Infinity;
  for (const [a, ee] of parts) if (a) biggest = Math.max(biggest, String(Math.abs(a)).length - 1 + ee);
  if (biggest === -Infinity) biggest = 0;
  return [parts, biggest >= 5 || biggest <= -4];
}

/** Nice ticks for an axis from lo to hi: {values, labels}; identical to svg.ticks in Python. */
export function ticks(lo, hi, log = false, n = 5) {
  for (const [name, v] of [["lo", lo], ["hi", hi]]) {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new RangeError(`${name} must be a finite number, got ${v}`);
  }
  if (!Number.isInteger(n) || n < 1 || n > 20) throw new RangeError(`n must be an integer from 1 to 20, got ${n}`);
  [lo, hi] = [Math.min(lo, hi), Math.max(lo, hi)];
  if (log && lo <= 0) throw new RangeError(`lo must be > 0 for a log axis, got ${lo}`);
  if (lo === hi) throw new RangeError(`lo and hi must differ, got ${lo} for both`);
  const [parts, useSci] = tickParts(lo, hi, log, n);
  return {
    values: parts.map(([a, e]) => decimalValue(a, e)),
    labels: parts.map(([a, e]) => (a === 0 ? "0" : useSci ? powerLabel(a, e) : fixedLabel(a, e))),
  };
}

export const textWidth = (text, size) => [...String(text)].length * CHAR_EM * size;
const entryWidth = (label) => LEGEND_SWATCH + LEGEND_GAP + textWidth(label, TICK_FONT) + LEGEND_SPACING;
const tickCount = (length, per) => Math.max(2, Math.min(10, Math.floor(length / per + 0.5)));

function legendEntries(items) {
  const out = [];
  for (const it of items) {
    if (!it.label) continue;
    if (["line", "hline", "vline", "arrow"].includes(it.t)) out.push({ label: it.label, kind: "line", color: it.color || "s0", dash: it.dash || [] });
    else if (it.t === "points") out.push({ label: it.label, kind: "points", color: it.color || "s0" });
    else if (it.t === "marker") out.push({ label: it.label, kind: "marker", color: it.color || "fg", shape: it.shape || "circle" });
  }
  return out;
}

function range(fig, key, log) {
  const r = fig[key] || [0, 1];
  const lo = Number(r[0]);
  const hi = Number(r[1]);
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) throw new RangeError(`${key} must be two finite numbers with lo < hi, got ${JSON.stringify(r)}`);
  if (log && lo <= 0) throw new RangeError(`${key} must be > 0 on a log axis, got ${JSON.stringify(r)}`);
  return [lo, hi];
}

/** Geometry of a figure in figure pixels: plot area, ticks, legend, and data->px maps. */
export function layout(fig) {
  const W = Number(fig.width) || 480;
  let H = Number(fig.height) || 320;
  if (!(W >= 60 && W <= 4000 && H >= 60 && H <= 4000)) throw new RangeError(`width and height must be from 60 to 4000 px, got ${W} x ${H}`);
  const xLog = !!fig.x_log;
  const yLog = !!fig.y_log;
  const xr = range(fig, "x_range", xLog);
  const yr = range(fig, "y_range", yLog);

  const entries = fig.legend ? legendEntries(fig.items || []) : [];
  const rows = [];
  const rowW = W - 2 * PAD;
  let used = rowW + 1;
  for (const e of entries) {
    const w = entryWidth(e.label);
    if (used + w > rowW) { rows.push([]); used = 0; }
    rows[rows.length - 1].push(e);
    used += w;
  }
  let top = PAD + (fig.title ? TITLE_FONT + 8 : 0);
  const legend = [];
  rows.forEach((row, r) => {
    const total = row.reduce((s, e) => s + entryWidth(e.label), 0) - LEGEND_SPACING;
    let x = (W - total) / 2;
    const yc = top + r * LEGEND_ROW + LEGEND_ROW / 2;
    for (const e of row) { legend.push({ ...e, x, y: yc }); x += entryWidth(e.label); }
  });
  top += rows.length * LEGEND_ROW + (rows.length ? 4 : 0);
  top = Math.max(top, PAD + 4);
  const bottom = 4 + TICK_FONT + 6 + (fig.x_label ? LABEL_FONT + 6 : 0) + 2;
  let ph = H - top - bottom;
  if (ph < 20) throw new RangeError(`height must leave room for the plot area, got ${H}`);
  let yt = ticks(yr[0], yr[1], yLog, tickCount(ph, 45));
  const ylabW = Math.max(0, ...yt.labels.map((s) => textWidth(s, TICK_FONT)));
  let left = PAD + (fig.y_label ? LABEL_FONT + 6 : 0) + ylabW + 4 + 4;
  const probe = ticks(xr[0], xr[1], xLog, tickCount(W - left - 12, 80));
  const right = Math.max(12, textWidth(probe.labels[probe.labels.length - 1], TICK_FONT) / 2 + 2);
  let pw = W - left - right;
  if (pw < 20) throw new RangeError(`width must leave room for the plot area, got ${W}`);

  if (fig.aspect_equal) {
    const xs = xLog ? Math.log10(xr[1] / xr[0]) : xr[1] - xr[0];
    const ys = yLog ? Math.log10(yr[1] / yr[0]) : yr[1] - yr[0];
    const s = Math.min(pw / xs, ph / ys);
    if (pw / xs > s) {
      const newPw = xs * s;
      left += (pw - newPw) / 2;
      pw = newPw;
    } else {
      const newPh = ys * s;
      H -= ph - newPh;
      ph = newPh;
      yt = ticks(yr[0], yr[1], yLog, tickCount(ph, 45));
    }
  }
  const xt = ticks(xr[0], xr[1], xLog, tickCount(pw, 80));
  const tx = xLog ? [Math.log10(xr[0]), Math.log10(xr[1])] : xr;
  const ty = yLog ? [Math.log10(yr[0]), Math.log10(yr[1])] : yr;
  const fx = (v) => (v === null || v === undefined || (xLog && !(v > 0)) ? NaN : xLog ? Math.log10(v) : +v);
  const fy = (v) => (v === null || v === undefined || (yLog && !(v > 0)) ? NaN : yLog ? Math.log10(v) : +v);
  const g = {
    width: W, height: H, left, top, pw, ph, xRange: xr, yRange: yr, xLog, yLog,
    xTicks: xt, yTicks: yt, legend,
    px: (v) => left + ((fx(v) - tx[0]) / (tx[1] - tx[0])) * pw,
    py: (v) => top + ph - ((fy(v) - ty[0]) / (ty[1] - ty[0])) * ph,
    // Inverse maps, for pointers: figure px -> data.
    dx: (p) => { const t = tx[0] + ((p - left) / pw) * (tx[1] - tx[0]); return xLog ? 10 ** t : t; },
    dy: (p) => { const t = ty[0] + ((top + ph - p) / ph) * (ty[1] - ty[0]); return yLog ? 10 ** t : t; },
  };
  return g;
}
