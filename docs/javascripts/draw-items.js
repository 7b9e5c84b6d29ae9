// Drawing one display-list item on a 2-D context, in figure pixels: lines cut to the plot,
// markers, arrows, rectangles, colour-mapped rasters (cached by content) and clamped text.
// The SVG writer draws the same items; the cut-and-clamp rules follow it.

import { CLIP_SLACK, CMAPS } from "./generated.js";
import { textWidth } from "./axes.js";
import { col, rasterRGBA } from "./colors.js";

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

export function markerPath(ctx, shape, x, y, r) {
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

export function drawMarker(ctx, theme, shape, x, y, r, color) {
  ctx.beginPath();
  markerPath(ctx, shape, x, y, r);
  if (shape === "cross") {
    ctx.strokeStyle = color; ctx.lineWidth = 2.5; ctx.setLineDash([]); ctx.stroke();
  } else {
    ctx.fillStyle = color; ctx.fill();
    ctx.strokeStyle = theme.colors.bg; ctx.lineWidth = 1.5; ctx.setLineDash([]); ctx.stroke();
  }
}

export const fontOf = (theme, size, weight = "") => `${weight ? weight + " " : ""}${size}px ${theme.font}`;

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

export function drawItem(ctx, it, g, theme, rasters) {
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

export function rectPx(it, i, g) {
  const xa = g.px(it.x0[i]), xb = g.px(it.x1[i]), ya = g.py(it.y0[i]), yb = g.py(it.y1[i]);
  if (![xa, xb, ya, yb].every(Number.isFinite)) return null;
  return [Math.min(xa, xb), Math.min(ya, yb), Math.max(xa, xb), Math.max(ya, yb)];
}
