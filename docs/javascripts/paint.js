// paint.js: draws a display list (gradclip/figures.py, `Figure.to_dict()`) on a <canvas>.
//
// The build-time SVG (site_hooks/svg.py) draws the same dictionary; both share the layout
// rules and the tick algorithm below (mirrored line for line; tests/test_paint_browser.py
// checks that ticks and colour maps agree), so the live canvas replaces the static picture
// without a jump. Everything is drawn in *figure pixels* (the SVG viewBox) and scaled
// uniformly to the container's width times devicePixelRatio.
//
//   paint(canvas, fig, state)            one-off drawing, no interaction
//   mountFigure(canvas, fig, {onParam, onHover}) -> {update(fig), setMarker(i), destroy()}
//
// No dependencies, no framework; an ES module.

const PAD = 8;
const TICK_FONT = 11;
const LABEL_FONT = 12;
const TITLE_FONT = 13;
const LEGEND_ROW = 16;
const CHAR_EM = 0.6;   // estimated advance of a character in ems: layout must not depend on fonts
const CLIP_SLACK = 4;  // polylines are cut this many px outside the plot, then clipped exactly
const HANDLE_R = 7;

export const COLOR_NAMES = ["fg", "muted", "grid", "accent", "danger", "ok", "warn", "min", "start",
  "s0", "s1", "s2", "s3", "s4", "s5"];

// Used when figures.css is missing (a bare page): the light theme.
const FALLBACK = {
  bg: "#ffffff", fg: "#1f2328", muted: "#5f6670", grid: "#c3c8d0", accent: "#0072b2",
  danger: "#d1242f", ok: "#008a63", warn: "#b37a00", min: "#008a63", start: "#a0407a",
  s0: "#0072b2", s1: "#d55e00", s2: "#008a63", s3: "#b8568f", s4: "#b37a00", s5: "#2f8fcb",
};

// Raster colour maps; the same table as CMAPS in site_hooks/svg.py.
export const CMAPS = {
  loss: { kind: "continuous", stops: [
    [68, 1, 84], [71, 45, 123], [59, 82, 139], [44, 114, 142], [33, 145, 140],
    [40, 174, 128], [94, 201, 98], [173, 220, 48], [253, 231, 37]] },
  outcome: { kind: "categorical", stops: [
    [0, 138, 99], [179, 122, 0], [184, 86, 143], [209, 36, 47]] },
};

// ------------------------------------------------------------------------------------------
// Ticks (mirror of site_hooks/svg.py: ticks)
// ------------------------------------------------------------------------------------------

const SUP = { 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹", "-": "⁻" };

// a × 10^e, correctly rounded: a decimal literal parsed, exactly as Python's float("ae e").
const dec = (a, e) => Number(`${a}e${e}`);

function fixed(a, e) {
  let digits = String(Math.abs(a));
  let s;
  if (e >= 0) s = a ? digits + "0".repeat(e) : "0";
  else {
    digits = digits.padStart(-e + 1, "0");
    s = digits.slice(0, e) + "." + digits.slice(e);
  }
  return (a < 0 ? "−" : "") + s;
}

function sci(a, e) {
  if (a === 0) return "0";
  const full = String(Math.abs(a));
  const digits = full.replace(/0+$/, "");
  const exp = e + full.length - 1;
  const mant = digits[0] + (digits.length > 1 ? "." + digits.slice(1) : "");
  const sign = a < 0 ? "−" : "";
  const power = "10" + [...String(exp)].map((c) => SUP[c]).join("");
  return mant === "1" ? sign + power : `${sign}${mant}×${power}`;
}

function log10Floor(x) {
  let e = Math.floor(Math.log10(x));
  if (x < dec(1, e)) e -= 1;
  else if (x >= dec(1, e + 1)) e += 1;
  return e;
}

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
        const v = dec(m, e);
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
    const a = Math.floor(mid / dec(1, big - 5) + 0.5);
    return [[[a, big - 5]], big >= 5 || big <= -4];
  }
  const raw = (hi - lo) / n;
  if (!(Number.isFinite(raw) && raw > 1e-300)) throw new RangeError(`lo and hi must span a range a double can divide, got ${lo} to ${hi}`);
  let e = log10Floor(raw);
  const f = raw / dec(1, e);
  let m = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  if (m === 10) { m = 1; e += 1; }
  let k0, k1;
  for (;;) {
    const step = dec(m, e);
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
    values: parts.map(([a, e]) => dec(a, e)),
    labels: parts.map(([a, e]) => (a === 0 ? "0" : useSci ? sci(a, e) : fixed(a, e))),
  };
}

/** A number for a read-out: 3 significant digits, e-notation outside 0.001 … 99999. */
export function fmt(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
  if (x === 0) return "0";
  const a = Math.abs(x);
  const s = a >= 1e-3 && a < 1e5 ? String(Number(x.toPrecision(3))) : x.toExponential(2);
  return s.replace("-", "−");
}

// ------------------------------------------------------------------------------------------
// Layout (mirror of site_hooks/svg.py: layout)
// ------------------------------------------------------------------------------------------

export const textWidth = (text, size) => [...String(text)].length * CHAR_EM * size;
const entryWidth = (label) => 18 + 5 + textWidth(label, TICK_FONT) + 12;
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
    const total = row.reduce((s, e) => s + entryWidth(e.label), 0) - 12;
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

// ------------------------------------------------------------------------------------------
// Colours
// ------------------------------------------------------------------------------------------

/** Theme colours from the CSS variables on `el` (figures.css), with light-theme fallbacks. */
function readTheme(el) {
  const cs = getComputedStyle(el);
  const v = (name, dflt) => cs.getPropertyValue(`--gc-${name}`).trim() || dflt;
  const colors = {};
  for (const n of COLOR_NAMES) colors[n] = v(n, FALLBACK[n]);
  colors.bg = v("bg", FALLBACK.bg);
  return {
    colors,
    rasterOpacity: parseFloat(v("raster-opacity", "0.42")),
    gridOpacity: parseFloat(v("gridline-opacity", "0.55")),
    font: cs.fontFamily || "sans-serif",
  };
}

const col = (theme, name, dflt) => theme.colors[COLOR_NAMES.includes(name) ? name : dflt];

/** RGBA bytes for a raster (row 0 at the bottom of the data, so it goes last in the image). */
export function rasterRGBA(values, cmap) {
  const map = CMAPS[cmap];
  if (!map) throw new RangeError(`cmap must be one of ${Object.keys(CMAPS).join(", ")}, got ${cmap}`);
  const h = values.length;
  const w = values[0].length;
  const out = new Uint8ClampedArray(w * h * 4);
  const k = map.stops.length;
  for (let r = 0; r < h; r++) {
    const row = values[h - 1 - r];
    for (let c = 0; c < w; c++) {
      const v = row[c];
      const o = (r * w + c) * 4;
      if (v === null || v === undefined || !Number.isFinite(v)) continue;  // transparent
      const t = Math.min(1, Math.max(0, v));
      let rgb;
      if (map.kind === "categorical") rgb = map.stops[Math.floor(t * (k - 1) + 0.5)];
      else {
        const pos = t * (k - 1);
        const i = Math.min(Math.floor(pos), k - 2);
        const f = pos - i;
        const a = map.stops[i];
        const b = map.stops[i + 1];
        rgb = [a[0] * (1 - f) + b[0] * f, a[1] * (1 - f) + b[1] * f, a[2] * (1 - f) + b[2] * f];
      }
      out[o] = Math.floor(rgb[0] + 0.5);
      out[o + 1] = Math.floor(rgb[1] + 0.5);
      out[o + 2] = Math.floor(rgb[2] + 0.5);
      out[o + 3] = 255;
    }
  }
  return { data: out, width: w, height: h };
}

// ------------------------------------------------------------------------------------------
// Geometry: polylines cut to the plot (Liang–Barsky, as in svg.py)
// ------------------------------------------------------------------------------------------

function traceClipped(ctx, X, Y, box) {
  const [bx0, by0, bx1, by1] = box;
  let open = false;
  const inside = (x, y) => x >= bx0 && x <= bx1 && y >= by0 && y <= by1;
  for (let i = 0; i + 1 < X.length; i++) {
    const ax = X[i], ay = Y[i], bx = X[i + 1], by = Y[i + 1];
    if (!(Number.isFinite(ax) && Number.isFinite(ay) && Number.isFinite(bx) && Number.isFinite(by))) { open = false; continue; }
    if (inside(ax, ay) && inside(bx, by)) {
      if (!open) { ctx.moveTo(ax, ay); open = true; }
      ctx.lineTo(bx, by);
      continue;
    }
    const dx = bx - ax, dy = by - ay;
    let t0 = 0, t1 = 1, visible = true;
    for (const [p, q] of [[-dx, ax - bx0], [dx, bx1 - ax], [-dy, ay - by0], [dy, by1 - ay]]) {
      if (p === 0) { if (q < 0) { visible = false; break; } continue; }
      const r = q / p;
      if (p < 0) t0 = Math.max(t0, r); else t1 = Math.min(t1, r);
      if (t0 > t1) { visible = false; break; }
    }
    if (!visible) { open = false; continue; }
    if (t0 > 0 || !open) ctx.moveTo(ax + t0 * dx, ay + t0 * dy);
    ctx.lineTo(ax + t1 * dx, ay + t1 * dy);
    open = t1 >= 1;
  }
}

function markerPath(ctx, shape, x, y, r) {
  if (shape === "square") ctx.rect(x - r, y - r, 2 * r, 2 * r);
  else if (shape === "cross") {
    const a = r * 0.8;
    ctx.moveTo(x - a, y - a); ctx.lineTo(x + a, y + a);
    ctx.moveTo(x - a, y + a); ctx.lineTo(x + a, y - a);
  } else if (shape === "star") {
    for (let k = 0; k < 10; k++) {
      const rad = k % 2 === 0 ? r * 1.25 : r * 0.5;
      const ang = -Math.PI / 2 + (k * Math.PI) / 5;
      if (k === 0) ctx.moveTo(x + rad * Math.cos(ang), y + rad * Math.sin(ang));
      else ctx.lineTo(x + rad * Math.cos(ang), y + rad * Math.sin(ang));
    }
    ctx.closePath();
  } else {
    ctx.moveTo(x + r, y);
    ctx.arc(x, y, r, 0, 2 * Math.PI);
  }
}

function drawMarker(ctx, theme, shape, x, y, r, color) {
  ctx.beginPath();
  markerPath(ctx, shape, x, y, r);
  if (shape === "cross") {
    ctx.strokeStyle = color; ctx.lineWidth = 2.5; ctx.setLineDash([]); ctx.stroke();
  } else {
    ctx.fillStyle = color; ctx.fill();
    ctx.strokeStyle = theme.colors.bg; ctx.lineWidth = 1.5; ctx.setLineDash([]); ctx.stroke();
  }
}

const fontOf = (theme, size, weight = "") => `${weight ? weight + " " : ""}${size}px ${theme.font}`;

// ------------------------------------------------------------------------------------------
// The static layer: everything but handles, the marker and hover feedback
// ------------------------------------------------------------------------------------------

// Rasters by content: a demo sends the same shading in every output (only the trajectory
// changes), and each output is a new object, so identity alone would re-rasterise it each time.
const RASTERS_BY_CONTENT = new Map();
const RASTER_CACHE_SIZE = 16;

function rasterKey(it) {
  // FNV-1a over the values: exact for equal content, a few microseconds for 48x48.
  let h = 0x811c9dc5;
  const rows = it.values || [];
  for (const row of rows) {
    for (const v of row) {
      const n = v === null ? -1 : Math.round(v * 1e6);
      h = Math.imul(h ^ (n & 0xffff), 16777619);
      h = Math.imul(h ^ (n >>> 16), 16777619);
    }
  }
  return `${it.cmap || "loss"}|${rows.length}x${(rows[0] || []).length}|${h >>> 0}`;
}

function rasterImage(it, cache) {
  let img = cache.get(it);
  if (img) return img;
  const key = rasterKey(it);
  img = RASTERS_BY_CONTENT.get(key);
  if (!img) {
    const { data, width, height } = rasterRGBA(it.values, it.cmap || "loss");
    img = document.createElement("canvas");
    img.width = width;
    img.height = height;
    img.getContext("2d").putImageData(new ImageData(data, width, height), 0, 0);
    if (RASTERS_BY_CONTENT.size >= RASTER_CACHE_SIZE) RASTERS_BY_CONTENT.delete(RASTERS_BY_CONTENT.keys().next().value);
    RASTERS_BY_CONTENT.set(key, img);
  }
  cache.set(it, img);
  return img;
}

function drawItem(ctx, it, g, theme, rasters) {
  const box = [g.left - CLIP_SLACK, g.top - CLIP_SLACK, g.left + g.pw + CLIP_SLACK, g.top + g.ph + CLIP_SLACK];
  // Every item starts from the same stroke joins (the SVG's defaults), so what an item looks
  // like does not depend on the item drawn before it (nor on whether that came from a cache).
  ctx.lineJoin = "miter"; ctx.lineCap = "butt";
  const stroke = (color, width, dash) => {
    ctx.strokeStyle = color; ctx.lineWidth = width; ctx.setLineDash(dash || []); ctx.stroke();
  };
  switch (it.t) {
    case "line": {
      ctx.beginPath();
      ctx.lineJoin = "round"; ctx.lineCap = "round";
      traceClipped(ctx, (it.x || []).map(g.px), (it.y || []).map(g.py), box);
      stroke(col(theme, it.color, "s0"), it.width ?? 2, it.dash);
      ctx.lineCap = "butt";
      break;
    }
    case "contours": {
      ctx.beginPath();
      ctx.lineJoin = "round";
      for (const p of it.paths || []) traceClipped(ctx, p.x.map(g.px), p.y.map(g.py), box);
      stroke(col(theme, it.color, "grid"), it.width ?? 1);
      break;
    }
    case "points": {
      const r = it.size ?? 3;
      ctx.beginPath();
      const xs = it.x || [], ys = it.y || [];
      for (let i = 0; i < xs.length; i++) {
        const x = g.px(xs[i]), y = g.py(ys[i]);
        if (Number.isFinite(x) && Number.isFinite(y) && x >= box[0] && x <= box[2] && y >= box[1] && y <= box[3]) markerPath(ctx, "circle", x, y, r);
      }
      ctx.fillStyle = col(theme, it.color, "s0");
      ctx.fill();
      break;
    }
    case "marker": {
      const x = g.px(it.x), y = g.py(it.y);
      if (Number.isFinite(x) && Number.isFinite(y)) drawMarker(ctx, theme, it.shape || "circle", x, y, it.size ?? 6, col(theme, it.color, "fg"));
      break;
    }
    case "hline":
    case "vline": {
      ctx.beginPath();
      if (it.t === "hline") {
        const y = g.py(it.y);
        if (!Number.isFinite(y)) break;
        ctx.moveTo(g.left, y); ctx.lineTo(g.left + g.pw, y);
      } else {
        const x = g.px(it.x);
        if (!Number.isFinite(x)) break;
        ctx.moveTo(x, g.top); ctx.lineTo(x, g.top + g.ph);
      }
      stroke(col(theme, it.color, it.t === "hline" ? "danger" : "muted"), it.width ?? 1.5, it.dash);
      break;
    }
    case "arrow": {
      const x0 = g.px(it.x0), y0 = g.py(it.y0), x1 = g.px(it.x1), y1 = g.py(it.y1);
      if (![x0, y0, x1, y1].every(Number.isFinite)) break;
      const w = it.width ?? 2;
      const len = Math.hypot(x1 - x0, y1 - y0);
      if (!(len > 0)) break;
      const ang = Math.atan2(y1 - y0, x1 - x0);
      const head = Math.min(6 + 2 * w, len);
      const bx = x1 - head * Math.cos(ang), by = y1 - head * Math.sin(ang);
      const nx = -Math.sin(ang) * head * 0.45, ny = Math.cos(ang) * head * 0.45;
      const c = col(theme, it.color, "s0");
      ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(bx, by); stroke(c, w);
      ctx.beginPath(); ctx.moveTo(x1, y1); ctx.lineTo(bx + nx, by + ny); ctx.lineTo(bx - nx, by - ny); ctx.closePath();
      ctx.fillStyle = c; ctx.fill();
      break;
    }
    case "circle": {
      const cx = g.px(it.cx), cy = g.py(it.cy);
      const r = Math.abs(g.px((it.cx ?? 0) + (it.r ?? 0)) - cx);
      if (![cx, cy, r].every(Number.isFinite)) break;
      ctx.beginPath(); ctx.arc(cx, cy, r, 0, 2 * Math.PI);
      stroke(col(theme, it.color, "muted"), 1.5, it.dash);
      break;
    }
    case "rects": {
      const n = (it.x0 || []).length;
      for (let i = 0; i < n; i++) {
        const r = rectPx(it, i, g);
        if (!r) continue;
        const fill = Array.isArray(it.fill) ? it.fill[i] : it.fill;
        ctx.fillStyle = col(theme, fill, "s0");
        ctx.fillRect(r[0], r[1], r[2] - r[0], r[3] - r[1]);
      }
      break;
    }
    case "raster": {
      if (!it.values || !it.values.length || !it.values[0].length) break;
      const img = rasterImage(it, rasters);
      const xr = it.x_range || g.xRange, yr = it.y_range || g.yRange;
      const xa = g.px(xr[0]), xb = g.px(xr[1]), ya = g.py(yr[0]), yb = g.py(yr[1]);
      ctx.save();
      ctx.globalAlpha = theme.rasterOpacity;
      ctx.imageSmoothingEnabled = (CMAPS[it.cmap || "loss"] || {}).kind !== "categorical";
      ctx.imageSmoothingQuality = "low";
      ctx.drawImage(img, Math.min(xa, xb), Math.min(ya, yb), Math.abs(xb - xa), Math.abs(yb - ya));
      ctx.restore();
      break;
    }
    case "text": {
      let x = g.px(it.x), y = g.py(it.y);
      if (!Number.isFinite(x) || !Number.isFinite(y)) break;
      const size = it.size ?? 12;
      x = clampText(x, String(it.text ?? ""), size, it.anchor, g);
      y = Math.min(Math.max(y, g.top + size), g.top + g.ph - 3);
      ctx.font = fontOf(theme, size);
      ctx.textAlign = ["start", "middle", "end"].includes(it.anchor) ? (it.anchor === "middle" ? "center" : it.anchor) : "start";
      ctx.lineJoin = "round";
      ctx.strokeStyle = theme.colors.bg; ctx.lineWidth = 3; ctx.setLineDash([]);
      ctx.strokeText(String(it.text ?? ""), x, y);
      ctx.fillStyle = col(theme, it.color, "fg");
      ctx.fillText(String(it.text ?? ""), x, y);
      break;
    }
    case "handle":
      break;   // drawn on the interactive layer
    default:
      throw new RangeError(`item type must be one of line, points, marker, hline, vline, text, raster, contours, rects, handle, arrow, circle; got ${it.t}`);
  }
}

// A text's anchor x, moved so its whole (estimated) width stays in the plot; a text wider
// than the plot starts at its left edge. Mirror of svg.py: _clamp_text.
function clampText(x, text, size, anchor, g) {
  const w = textWidth(text, size);
  const before = anchor === "end" ? w : anchor === "middle" ? w / 2 : 0;
  const lo = g.left + 2 + before;
  const hi = g.left + g.pw - 2 - (w - before);
  return Math.max(Math.min(x, hi), lo);
}

function rectPx(it, i, g) {
  const xa = g.px(it.x0[i]), xb = g.px(it.x1[i]), ya = g.py(it.y0[i]), yb = g.py(it.y1[i]);
  if (![xa, xb, ya, yb].every(Number.isFinite)) return null;
  return [Math.min(xa, xb), Math.min(ya, yb), Math.max(xa, xb), Math.max(ya, yb)];
}

function drawGrid(ctx, g, theme) {
  const L = g.left, T = g.top, R = g.left + g.pw, B = g.top + g.ph;
  ctx.save();
  ctx.globalAlpha = theme.gridOpacity;
  ctx.beginPath();
  for (const v of g.xTicks.values) { const x = g.px(v); ctx.moveTo(x, T); ctx.lineTo(x, B); }
  for (const v of g.yTicks.values) { const y = g.py(v); ctx.moveTo(L, y); ctx.lineTo(R, y); }
  ctx.strokeStyle = theme.colors.grid; ctx.lineWidth = 1; ctx.setLineDash([]); ctx.stroke();
  ctx.restore();
}

// Items[from, to) that are not text, clipped to the plot area.
function drawPlotItems(ctx, items, from, to, g, theme, rasters) {
  ctx.save();
  ctx.beginPath(); ctx.rect(g.left, g.top, g.pw, g.ph); ctx.clip();
  for (let i = from; i < to; i++) if (items[i].t !== "text") drawItem(ctx, items[i], g, theme, rasters);
  ctx.restore();
}

/** How many leading items carry a content `key`: the layers a painter may keep as a bitmap. */
export function keyedPrefix(items) {
  let n = 0;
  while (n < items.length && typeof items[n].key === "string" && items[n].t !== "text" && items[n].t !== "handle") n++;
  return n;
}

// The static layer. `skip` > 0: the grid and the first `skip` items are already drawn (a
// kept backdrop bitmap, see mountFigure).
function drawStatic(ctx, fig, g, theme, rasters, skip = 0) {
  const L = g.left, T = g.top, R = g.left + g.pw, B = g.top + g.ph;
  const items = fig.items || [];
  ctx.textBaseline = "alphabetic";
  // Grid first, so every item draws over it.
  if (!skip) drawGrid(ctx, g, theme);
  drawPlotItems(ctx, items, skip, items.length, g, theme, rasters);
  for (const it of items) if (it.t === "text") drawItem(ctx, it, g, theme, rasters);

  // Frame and ticks.
  ctx.beginPath();
  ctx.moveTo(L, T); ctx.lineTo(L, B); ctx.lineTo(R, B);
  for (const v of g.xTicks.values) { const x = g.px(v); ctx.moveTo(x, B); ctx.lineTo(x, B + 4); }
  for (const v of g.yTicks.values) { const y = g.py(v); ctx.moveTo(L, y); ctx.lineTo(L - 4, y); }
  ctx.strokeStyle = theme.colors.muted; ctx.lineWidth = 1; ctx.setLineDash([]); ctx.stroke();

  ctx.fillStyle = theme.colors.muted;
  ctx.font = fontOf(theme, TICK_FONT);
  ctx.textAlign = "center";
  g.xTicks.values.forEach((v, i) => ctx.fillText(g.xTicks.labels[i], g.px(v), B + 4 + TICK_FONT + 1));
  ctx.textAlign = "right";
  g.yTicks.values.forEach((v, i) => ctx.fillText(g.yTicks.labels[i], L - 7, g.py(v) + 4));

  ctx.fillStyle = theme.colors.fg;
  ctx.font = fontOf(theme, LABEL_FONT);
  ctx.textAlign = "center";
  if (fig.x_label) ctx.fillText(String(fig.x_label), (L + R) / 2, g.height - PAD + 2);
  if (fig.y_label) {
    ctx.save();
    ctx.translate(PAD + LABEL_FONT - 2, (T + B) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(String(fig.y_label), 0, 0);
    ctx.restore();
  }
  if (fig.title) {
    ctx.font = fontOf(theme, TITLE_FONT, "600");
    ctx.fillText(String(fig.title), g.width / 2, PAD + TITLE_FONT);
  }
  // Legend.
  ctx.font = fontOf(theme, TICK_FONT);
  ctx.textAlign = "left";
  for (const e of g.legend) {
    if (e.kind === "line") {
      ctx.beginPath(); ctx.moveTo(e.x, e.y); ctx.lineTo(e.x + 18, e.y);
      ctx.strokeStyle = col(theme, e.color, "s0"); ctx.lineWidth = 2; ctx.setLineDash(e.dash || []); ctx.stroke();
      ctx.setLineDash([]);
    } else if (e.kind === "points") {
      ctx.beginPath(); markerPath(ctx, "circle", e.x + 9, e.y, 3);
      ctx.fillStyle = col(theme, e.color, "s0"); ctx.fill();
    } else drawMarker(ctx, theme, e.shape, e.x + 9, e.y, 4.5, col(theme, e.color, "fg"));
    ctx.fillStyle = theme.colors.fg;
    ctx.fillText(e.label, e.x + 23, e.y + 4);
  }
}

// ------------------------------------------------------------------------------------------
// The interactive layer: handles, synchronised marker, hover feedback, highlighted rect
// ------------------------------------------------------------------------------------------

function handlePos(fig, state, idx) {
  const o = state.handles && state.handles.get(idx);
  const it = fig.items[idx];
  return o || [it.x, it.y];
}

function pointAt(it, i) {
  const n = (it.x || []).length;
  if (!n) return null;
  const j = Math.max(0, Math.min(n - 1, i));
  const x = it.x[j], y = it.y[j];
  return x === null || y === null || x === undefined || y === undefined ? null : [x, y];
}

function drawOverlay(ctx, fig, g, theme, state) {
  const items = fig.items || [];
  ctx.save();
  ctx.beginPath(); ctx.rect(g.left - HANDLE_R, g.top - HANDLE_R, g.pw + 2 * HANDLE_R, g.ph + 2 * HANDLE_R); ctx.clip();
  if (state.activeRect) {
    const r = rectPx(items[state.activeRect[0]], state.activeRect[1], g);
    if (r) {
      ctx.beginPath(); ctx.rect(r[0] + 1, r[1] + 1, r[2] - r[0] - 2, r[3] - r[1] - 2);
      ctx.strokeStyle = theme.colors.fg; ctx.lineWidth = 2; ctx.setLineDash([]); ctx.stroke();
    }
  }
  if (state.hover) {
    const x = state.hover.guide;
    if (x !== null && x !== undefined) {
      ctx.beginPath(); ctx.moveTo(x, g.top); ctx.lineTo(x, g.top + g.ph);
      ctx.strokeStyle = theme.colors.muted; ctx.lineWidth = 1; ctx.setLineDash([3, 3]); ctx.stroke();
      ctx.setLineDash([]);
    }
    for (const h of state.hover.hits) {
      drawMarker(ctx, theme, "circle", g.px(h.x), g.py(h.y), 4, col(theme, items[h.item].color, "s0"));
    }
  }
  if (state.marker !== null && state.marker !== undefined) {
    items.forEach((it) => {
      if (it.t !== "line" || !it.marker) return;
      const p = pointAt(it, state.marker);
      if (!p) return;
      const x = g.px(p[0]), y = g.py(p[1]);
      if (Number.isFinite(x) && Number.isFinite(y)) drawMarker(ctx, theme, "circle", x, y, 5, col(theme, it.color, "s0"));
    });
  }
  items.forEach((it, idx) => {
    if (it.t !== "handle") return;
    const [hx, hy] = handlePos(fig, state, idx);
    const x = g.px(hx), y = g.py(hy);
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    const active = state.drag && state.drag.idx === idx;
    ctx.beginPath(); ctx.arc(x, y, active ? HANDLE_R + 1.5 : HANDLE_R, 0, 2 * Math.PI);
    ctx.fillStyle = col(theme, it.color, "start"); ctx.fill();
    ctx.strokeStyle = theme.colors.bg; ctx.lineWidth = 1.5; ctx.setLineDash([]); ctx.stroke();
    ctx.beginPath(); ctx.arc(x, y, 2, 0, 2 * Math.PI); ctx.fillStyle = theme.colors.bg; ctx.fill();
  });
  ctx.restore();
}

// ------------------------------------------------------------------------------------------
// Sizing
// ------------------------------------------------------------------------------------------

/** CSS width available to the canvas: its own box when shown, else its container's. */
function cssWidth(canvas) {
  const own = canvas.getBoundingClientRect().width;
  if (own > 0) return own;
  const host = canvas.parentElement;
  if (!host) return 0;
  const cs = getComputedStyle(host);
  return host.clientWidth - (parseFloat(cs.paddingLeft) || 0) - (parseFloat(cs.paddingRight) || 0);
}

/**
 * The layout for the canvas's current width. At or above the figure's own width everything
 * scales uniformly (exactly the static SVG). In a narrower container (a phone) the figure is
 * laid out again at that width, down to 60% of its own, so text keeps its size and the
 * axes drop ticks instead of shrinking the labels to unreadable.
 */
function fitLayout(canvas, fig, width = cssWidth(canvas)) {
  const W = Number(fig.width) || 480;
  const H = Number(fig.height) || 320;
  const cssW = width || W;
  if (cssW >= W) return layout(fig);
  const lw = Math.max(cssW, 0.6 * W);
  // Title, legend rows and tick labels keep their pixel size while the figure narrows, and a
  // legend wraps into more rows; so the height is not scaled as a whole. The plot area keeps
  // its proportion and the fixed parts get the room they need: a probe layout, tall enough
  // never to run out of room, measures them at the narrow width.
  try {
    const own = layout(fig);
    const probe = layout({ ...fig, width: lw, height: 4000 });
    const fixed = probe.height - probe.ph;
    const h = Math.min(4000, Math.max(60, fixed + (own.ph * lw) / W));
    return layout({ ...fig, width: lw, height: h });
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return layout(fig);   // too narrow to lay out again: scale the whole figure like the SVG
  }
}

const RATIOS = new WeakMap();   // canvas -> the aspect ratio last written to its style

function sizeCanvas(canvas, g, width = cssWidth(canvas)) {
  const w = width || g.width;
  const dpr = window.devicePixelRatio || 1;
  const bw = Math.max(1, Math.round(w * dpr));
  const bh = Math.max(1, Math.round((w * g.height / g.width) * dpr));
  if (canvas.width !== bw) canvas.width = bw;
  if (canvas.height !== bh) canvas.height = bh;
  const ratio = `${g.width} / ${g.height}`;
  if (RATIOS.get(canvas) !== ratio) { canvas.style.aspectRatio = ratio; RATIOS.set(canvas, ratio); }
  return { cssW: w, dpr, k: bw / g.width };   // k: backing-store pixels per figure pixel
}

/**
 * Draw a figure once on a canvas (no interaction): static layer and `state`
 * ({marker: i, hover: null, handles: Map(idx -> [x, y])}). Returns the layout.
 */
export function paint(canvas, fig, state = {}) {
  const g = fitLayout(canvas, fig);
  const theme = readTheme(canvas);
  const { k } = sizeCanvas(canvas, g);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.setTransform(k, 0, 0, k, 0, 0);
  drawStatic(ctx, fig, g, theme, new WeakMap());
  drawOverlay(ctx, fig, g, theme, { marker: null, hover: null, handles: new Map(), ...state });
  return g;
}

// ------------------------------------------------------------------------------------------
// Interaction
// ------------------------------------------------------------------------------------------

function isMonotonic(xs) {
  let prev = -Infinity;
  for (const v of xs) {
    if (v === null) continue;
    if (v < prev) return false;
    prev = v;
  }
  return true;
}

/** Index of the point of `it` nearest to figure px (fx, fy): by x on a monotonic x, else in 2-D. */
function nearest(it, g, fx, fy, mono) {
  const xs = it.x || [], ys = it.y || [];
  let best = -1, bestD = Infinity;
  if (mono) {
    // Binary search on x, then look around for the nearest valid point.
    let lo = 0, hi = xs.length - 1;
    const target = g.dx(fx);
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const v = xs[mid];
      if (v === null || v < target) lo = mid + 1; else hi = mid;
    }
    for (let j = Math.max(0, lo - 3); j <= Math.min(xs.length - 1, lo + 3); j++) {
      if (xs[j] === null || ys[j] === null) continue;
      const d = Math.abs(g.px(xs[j]) - fx);
      if (d < bestD && Number.isFinite(g.py(ys[j]))) { bestD = d; best = j; }
    }
    return best;
  }
  for (let j = 0; j < xs.length; j++) {
    if (xs[j] === null || ys[j] === null) continue;
    const d = Math.hypot(g.px(xs[j]) - fx, g.py(ys[j]) - fy);
    if (d < bestD) { bestD = d; best = j; }
  }
  return bestD <= 40 ? best : -1;
}

/** Round a dragged coordinate to about 1/1000 of the view: readable in a URL, exact enough. */
function tidy(v, lo, hi, log) {
  if (log) return Number(v.toPrecision(3));
  const e = Math.floor(Math.log10(hi - lo)) - 3;
  return Number((Math.round(v / 10 ** e) * 10 ** e).toFixed(Math.max(0, -e)));
}

/**
 * Paint `fig` on `canvas` and keep it live: resize with the container, follow the theme,
 * hover read-out, draggable handles, clickable rects, synchronised marker.
 *
 * onParam(partial): a handle moved ({px: x, py: y}, at most once per animation frame) or a
 * rect with `set` was clicked (set[i]). onHover(info | null): {index, x, y, item} of the
 * first hover line, so a page can synchronise other figures.
 */
export function mountFigure(canvas, fig, { onParam = () => {}, onHover = () => {} } = {}) {
  const host = canvas.parentElement;
  const ctx = canvas.getContext("2d");
  const state = { marker: null, hover: null, handles: new Map(), drag: null, activeRect: null };
  const rasters = new WeakMap();
  const staticLayer = document.createElement("canvas");
  // The grid and the leading keyed items (a landscape's shading and contour lines, a phase
  // map's cells) as a bitmap of their own, kept while the keys, the size, the layout and the
  // theme stay: a new run redraws only its trajectory, not thousands of contour points.
  const backdrop = { sig: "", canvas: null };
  let g = null, theme = null, k = 1, cssW = 0, dpr = 0;
  let mono = new Map();
  let pending = null, raf = 0, destroyed = false;
  let tooltip = null;

  // known: the canvas's width and the theme have not changed since the last call (a new
  // output of the same demo: the ResizeObserver and the MutationObserver below repaint on
  // either change), so neither is measured again; measuring forces the page's layout and
  // style to be recomputed at once, after the results panel just changed.
  function full(known = false) {
    if (destroyed) return;
    const w = known && g ? cssW : cssWidth(canvas);
    g = fitLayout(canvas, fig, w);
    if (!known || !theme) theme = readTheme(canvas);
    ({ k, cssW, dpr } = sizeCanvas(canvas, g, w));
    staticLayer.width = canvas.width;
    staticLayer.height = canvas.height;
    const sctx = staticLayer.getContext("2d");
    sctx.setTransform(1, 0, 0, 1, 0, 0);
    sctx.clearRect(0, 0, staticLayer.width, staticLayer.height);
    sctx.setTransform(k, 0, 0, k, 0, 0);
    const skip = drawBackdrop(sctx);
    drawStatic(sctx, fig, g, theme, rasters, skip);
    blit();
  }

  // Draw the kept backdrop on the static layer (redrawing it first if anything it depends on
  // changed); returns how many items it holds (0: no keyed layers, nothing drawn).
  function drawBackdrop(sctx) {
    const items = fig.items || [];
    const n = keyedPrefix(items);
    if (!n) { backdrop.sig = ""; backdrop.canvas = null; return 0; }
    const sig = JSON.stringify([items.slice(0, n).map((it) => it.key), canvas.width, canvas.height, k,
      g.left, g.top, g.pw, g.ph, g.xRange, g.yRange, g.xLog, g.yLog, g.xTicks.values, g.yTicks.values, theme]);
    if (sig !== backdrop.sig || !backdrop.canvas) {
      const c = backdrop.canvas || document.createElement("canvas");
      c.width = canvas.width;     // (also clears it and resets its context)
      c.height = canvas.height;
      const bctx = c.getContext("2d");
      bctx.setTransform(k, 0, 0, k, 0, 0);
      drawGrid(bctx, g, theme);
      drawPlotItems(bctx, items, 0, n, g, theme, rasters);
      backdrop.canvas = c;
      backdrop.sig = sig;
    }
    sctx.save();
    sctx.setTransform(1, 0, 0, 1, 0, 0);
    sctx.drawImage(backdrop.canvas, 0, 0);
    sctx.restore();
    return n;
  }

  // Cheap redraw: the cached static bitmap plus the interactive layer.
  function blit() {
    if (destroyed || !g) return;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(staticLayer, 0, 0);
    ctx.setTransform(k, 0, 0, k, 0, 0);
    drawOverlay(ctx, fig, g, theme, state);
  }

  function setupFigure() {
    mono = new Map();
    (fig.items || []).forEach((it, i) => { if (it.t === "line" && it.hover) mono.set(i, isMonotonic(it.x || [])); });
    const interactive = (fig.items || []).some((it) => it.t === "handle" || (it.t === "line" && it.hover) || (it.t === "rects" && it.set));
    canvas.tabIndex = interactive ? 0 : -1;
    if (fig.alt) canvas.setAttribute("aria-label", fig.alt);
    if (!canvas.hasAttribute("role")) canvas.setAttribute("role", "img");
  }

  // Pointer position in figure px.
  function figPoint(ev) {
    const r = canvas.getBoundingClientRect();
    return [((ev.clientX - r.left) * g.width) / r.width, ((ev.clientY - r.top) * g.height) / r.height];
  }
  const pxPerFig = () => (cssW > 0 ? cssW / g.width : 1);
  const inPlot = (fx, fy) => fx >= g.left && fx <= g.left + g.pw && fy >= g.top && fy <= g.top + g.ph;

  function handleAt(fx, fy) {
    const reach = Math.max(HANDLE_R + 3, 12 / pxPerFig());   // at least 12 CSS px: fingers
    let found = -1;
    (fig.items || []).forEach((it, idx) => {
      if (it.t !== "handle") return;
      const [hx, hy] = handlePos(fig, state, idx);
      if (Math.hypot(g.px(hx) - fx, g.py(hy) - fy) <= reach) found = idx;
    });
    return found;
  }

  function rectAt(fx, fy) {
    const items = fig.items || [];
    for (let idx = items.length - 1; idx >= 0; idx--) {
      const it = items[idx];
      if (it.t !== "rects" || !it.set) continue;
      for (let i = (it.x0 || []).length - 1; i >= 0; i--) {
        const r = rectPx(it, i, g);
        if (r && fx >= r[0] && fx <= r[2] && fy >= r[1] && fy <= r[3] && it.set[i]) return [idx, i];
      }
    }
    return null;
  }

  function firstHandle() {
    return (fig.items || []).findIndex((it) => it.t === "handle");
  }

  function moveHandle(idx, x, y) {
    const it = fig.items[idx];
    const [x0, x1] = g.xRange, [y0, y1] = g.yRange;
    x = tidy(Math.min(Math.max(x, x0), x1), x0, x1, g.xLog);
    y = tidy(Math.min(Math.max(y, y0), y1), y0, y1, g.yLog);
    state.handles.set(idx, [x, y]);
    const [px, py] = it.params || ["x", "y"];
    pending = { ...(pending || {}), [px]: x, [py]: y };
    if (!raf) {
      raf = requestAnimationFrame(() => {
        raf = 0;
        const p = pending;
        pending = null;
        if (p && !destroyed) onParam(p);
      });
    }
    showTooltip(g.px(x), g.py(y), [[null, `${px} = ${fmt(x)}`], [null, `${py} = ${fmt(y)}`]]);
    blit();
  }

  function hoverAt(fx, fy) {
    const items = fig.items || [];
    const hits = [];
    items.forEach((it, idx) => {
      if (it.t !== "line" || !it.hover) return;
      const j = nearest(it, g, fx, fy, mono.get(idx));
      if (j >= 0) hits.push({ item: idx, index: j, x: it.x[j], y: it.y[j] });
    });
    setHover(hits, fx, fy);
  }

  function setHover(hits, fx, fy) {
    if (!hits.length) { clearHover(); return; }
    const items = fig.items;
    const first = hits[0];
    const names = (h) => items[h.item].hover_names || ["x", "y"];
    const lines = [[null, `${names(first)[0]} = ${fmt(first.x)}`]];
    for (const h of hits) {
      const extra = h.x !== first.x ? ` (${names(h)[0]} = ${fmt(h.x)})` : "";
      lines.push([col(theme, items[h.item].color, "s0"), `${names(h)[1]} = ${fmt(h.y)}${extra}`]);
    }
    // A vertical guide only makes sense where x is a function argument (a curve, not a path).
    const guide = mono.get(first.item) ? g.px(first.x) : null;
    state.hover = { guide, fx: fx ?? g.px(first.x), fy: fy ?? g.py(first.y), hits };
    showTooltip(g.px(first.x), g.py(first.y), lines);
    blit();
    onHover({ index: first.index, x: first.x, y: first.y, item: first.item });
  }

  function clearHover() {
    const had = state.hover !== null;
    state.hover = null;
    hideTooltip();
    blit();
    if (had) onHover(null);
  }

  function showTooltip(fx, fy, lines) {
    if (!host) return;
    if (!tooltip) {
      tooltip = document.createElement("div");
      tooltip.className = "gc-tooltip";
      tooltip.setAttribute("aria-hidden", "true");
      host.appendChild(tooltip);
    }
    tooltip.replaceChildren(...lines.map(([color, text]) => {
      const row = document.createElement("div");
      if (color) {
        const sw = document.createElement("span");
        sw.className = "gc-swatch";
        sw.style.background = color;
        row.appendChild(sw);
      }
      row.appendChild(document.createTextNode(text));
      return row;
    }));
    tooltip.hidden = false;
    const s = pxPerFig();
    const x = canvas.offsetLeft + fx * s;
    const y = canvas.offsetTop + fy * s;
    const tw = tooltip.offsetWidth, th = tooltip.offsetHeight;
    const left = x + 14 + tw > canvas.offsetLeft + cssW ? x - 14 - tw : x + 14;
    tooltip.style.left = `${Math.max(canvas.offsetLeft, left)}px`;
    // Above the point, unless that would cover the title and legend: then below it.
    const above = y - th - 8;
    tooltip.style.top = `${above >= canvas.offsetTop + g.top * s ? above : y + 12}px`;
  }

  function hideTooltip() { if (tooltip) tooltip.hidden = true; }

  // ---- events ----
  function onPointerDown(ev) {
    if (!g || ev.button > 0) return;
    const [fx, fy] = figPoint(ev);
    let idx = handleAt(fx, fy);
    const rect = idx < 0 ? rectAt(fx, fy) : null;
    if (rect) {
      const [i, j] = rect;
      onParam({ ...fig.items[i].set[j] });
      return;
    }
    if (idx < 0 && inPlot(fx, fy)) idx = firstHandle();   // click anywhere: the handle jumps there
    if (idx < 0) return;
    ev.preventDefault();
    try { canvas.setPointerCapture(ev.pointerId); } catch { /* a synthetic or finished pointer */ }
    state.drag = { idx, id: ev.pointerId };
    canvas.style.cursor = "grabbing";
    moveHandle(idx, g.dx(fx), g.dy(fy));
  }

  function onPointerMove(ev) {
    if (!g) return;
    const [fx, fy] = figPoint(ev);
    if (state.drag && ev.pointerId === state.drag.id) {
      moveHandle(state.drag.idx, g.dx(fx), g.dy(fy));
      return;
    }
    const rect = rectAt(fx, fy);
    const onHandle = handleAt(fx, fy) >= 0;
    canvas.style.cursor = onHandle ? "grab" : rect ? "pointer" : firstHandle() >= 0 && inPlot(fx, fy) ? "crosshair" : "";
    const prevRect = state.activeRect;
    state.activeRect = rect;
    if (inPlot(fx, fy) && mono.size) hoverAt(fx, fy);
    else if (state.hover) clearHover();
    else if (String(prevRect) !== String(rect)) blit();
  }

  function endDrag(ev) {
    if (!state.drag || (ev && ev.pointerId !== state.drag.id)) return;
    state.drag = null;
    canvas.style.cursor = "";
    hideTooltip();
    blit();
  }

  function onPointerLeave() {
    if (state.drag) return;
    state.activeRect = null;
    canvas.style.cursor = "";
    clearHover();
  }

  function onKeyDown(ev) {
    if (!g) return;
    const keys = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    if (ev.key === "Escape") { clearHover(); return; }
    const d = keys[ev.key];
    if (!d) return;
    const step = ev.shiftKey ? 0.1 : 0.01;   // of the view; Shift for bigger steps
    const idx = firstHandle();
    if (idx >= 0) {
      ev.preventDefault();
      const [hx, hy] = handlePos(fig, state, idx);
      // Move in figure px, so 1% of the view on linear and log axes alike.
      moveHandle(idx, g.dx(g.px(hx) + d[0] * step * g.pw), g.dy(g.py(hy) - d[1] * step * g.ph));
      return;
    }
    // No handle: Left/Right walk the hover read-out along the first hover line.
    const lineIdx = [...mono.keys()][0];
    if (lineIdx === undefined || !d[0]) return;
    ev.preventDefault();
    const it = fig.items[lineIdx];
    const n = (it.x || []).length;
    let j = state.hover ? state.hover.hits[0].index : d[0] > 0 ? -1 : n;
    const jump = ev.shiftKey ? Math.max(1, Math.round(n / 10)) : 1;
    do { j += d[0] * jump; } while (j >= 0 && j < n && (it.x[j] === null || it.y[j] === null));
    j = Math.max(0, Math.min(n - 1, j));
    if (it.x[j] === null || it.y[j] === null) return;
    const hits = [];
    (fig.items || []).forEach((other, idx) => {
      if (other.t === "line" && other.hover) {
        const k2 = idx === lineIdx ? j : nearest(other, g, g.px(it.x[j]), g.py(it.y[j]), mono.get(idx));
        if (k2 >= 0) hits.push({ item: idx, index: k2, x: other.x[k2], y: other.y[k2] });
      }
    });
    setHover(hits, g.px(it.x[j]), g.py(it.y[j]));
  }

  const onBlur = () => { if (!state.drag) clearHover(); };

  canvas.addEventListener("pointerdown", onPointerDown);
  canvas.addEventListener("pointermove", onPointerMove);
  canvas.addEventListener("pointerup", endDrag);
  canvas.addEventListener("pointercancel", endDrag);
  canvas.addEventListener("pointerleave", onPointerLeave);
  canvas.addEventListener("keydown", onKeyDown);
  canvas.addEventListener("blur", onBlur);

  // Repaint when the container's width or the pixel ratio changes (not on our own height change).
  const ro = new ResizeObserver(() => {
    const w = cssWidth(canvas);
    if (Math.abs(w - cssW) > 0.5 || (window.devicePixelRatio || 1) !== dpr) full();
  });
  ro.observe(host || canvas);
  // Material switches palettes by setting data-md-color-scheme on <body>.
  const mo = new MutationObserver(() => full());
  mo.observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });

  setupFigure();
  full();
  canvas.hidden = false;
  if (host && host.classList.contains("gc-figure")) host.classList.add("gc-live");
  // The canvas may only now have a box of its own (it was hidden): size it to that box.
  if (Math.abs(cssWidth(canvas) - cssW) > 0.5) full();

  return {
    /** Replace the figure (a recomputed display list); keeps marker, hover position and a drag. */
    update(next) {
      fig = next;
      if (!state.drag) state.handles.clear();
      state.activeRect = null;
      setupFigure();
      const at = state.hover ? [state.hover.fx, state.hover.fy] : null;
      state.hover = null;
      full(true);
      if (at && g) hoverAt(at[0], at[1]);
    },
    /** Put the synchronised marker at point i of every line with `marker: true` (null hides it). */
    setMarker(i) {
      const m = i === null || i === undefined ? null : Math.trunc(i);
      if (m === state.marker) return;   // every other change repaints itself: already shown
      state.marker = m;
      blit();
    },
    /** The layout in use (figure px, ticks, data<->px maps); for tests and page scripts. */
    get layout() { return g; },
    destroy() {
      destroyed = true;
      ro.disconnect();
      mo.disconnect();
      if (raf) cancelAnimationFrame(raf);
      canvas.removeEventListener("pointerdown", onPointerDown);
      canvas.removeEventListener("pointermove", onPointerMove);
      canvas.removeEventListener("pointerup", endDrag);
      canvas.removeEventListener("pointercancel", endDrag);
      canvas.removeEventListener("pointerleave", onPointerLeave);
      canvas.removeEventListener("keydown", onKeyDown);
      canvas.removeEventListener("blur", onBlur);
      if (tooltip) tooltip.remove();
    },
  };
}
