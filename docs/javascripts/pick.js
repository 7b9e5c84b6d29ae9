// Pointer geometry for interaction, in figure px: the nearest point of a line, the handle or
// clickable rect under the pointer, keyboard walks along a line and across clickable rects, and
// tidy dragged values.

import { handlePos } from "./draw-figure.js";
import { rectPx } from "./draw-items.js";

export function isMonotonic(xs) {
  let prev = -Infinity;
  for (const v of xs) {
    if (v === null) continue;
    if (v < prev) return false;
    prev = v;
  }
  return true;
}

/** Index of the point of `it` nearest to figure px (fx, fy): by x on a monotonic x, else in 2-D. */
export function nearest(it, g, fx, fy, mono) {
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
export function tidy(v, lo, hi, log) {
  if (log) return Number(v.toPrecision(3));
  const e = Math.floor(Math.log10(hi - lo)) - 3;
  return Number((Math.round(v / 10 ** e) * 10 ** e).toFixed(Math.max(0, -e)));
}

/** Index of the last handle item within `reach` of (fx, fy), or -1. */
export function handleNear(fig, g, state, fx, fy, reach) {
  let found = -1;
  (fig.items || []).forEach((it, idx) => {
    if (it.t !== "handle") return;
    const [hx, hy] = handlePos(fig, state, idx);
    if (Math.hypot(g.px(hx) - fx, g.py(hy) - fy) <= reach) found = idx;
  });
  return found;
}

/** [item index, rect index] of the topmost clickable rect (one with `set`) under (fx, fy), or null. */
export function rectUnder(fig, g, fx, fy) {
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

/**
 * The keyboard's hover walk: `step` points along hover line `lineIdx` from point `from` (null:
 * from the end the walk heads away from), skipping gaps. Returns the hits on every hover line
 * at that x and the point in figure px ({hits, fx, fy}), or null when there is no point.
 */
export function walkLine(fig, g, mono, lineIdx, from, step) {
  const it = fig.items[lineIdx];
  const n = (it.x || []).length;
  let j = from !== null ? from : step > 0 ? -1 : n;
  do { j += step; } while (j >= 0 && j < n && (it.x[j] === null || it.y[j] === null));
  j = Math.max(0, Math.min(n - 1, j));
  if (it.x[j] === null || it.y[j] === null) return null;
  const fx = g.px(it.x[j]), fy = g.py(it.y[j]);
  const hits = [];
  (fig.items || []).forEach((other, idx) => {
    if (other.t !== "line" || !other.hover) return;
    const k = idx === lineIdx ? j : nearest(other, g, fx, fy, mono.get(idx));
    if (k >= 0) hits.push({ item: idx, index: k, x: other.x[k], y: other.y[k] });
  });
  return { hits, fx, fy };
}

/**
 * The keyboard's step across clickable rects (a phase map's cells): from rect `from` ([item
 * index, rect index], or null: start at the rect under the middle of the plot, else the first),
 * the nearest clickable rect of the same item whose centre lies in screen direction `dir`
 * ([dx, dy], y down). Returns [item index, rect index], or `from` itself at the edge.
 */
export function rectStep(fig, g, from, dir) {
  const items = fig.items || [];
  if (!from) {
    const mid = rectUnder(fig, g, g.left + g.pw / 2, g.top + g.ph / 2);
    if (mid) return mid;
    const idx = items.findIndex((it) => it.t === "rects" && it.set);
    const i = idx < 0 ? -1 : items[idx].set.findIndex(Boolean);
    return i < 0 ? null : [idx, i];
  }
  const [idx, i0] = from, it = items[idx];
  const centre = (i) => { const r = rectPx(it, i, g); return r && [(r[0] + r[2]) / 2, (r[1] + r[3]) / 2]; };
  const c0 = centre(i0);
  if (!c0) return null;
  let best = from, bestScore = Infinity;
  for (let i = 0; i < (it.x0 || []).length; i++) {
    const c = i !== i0 && it.set[i] && centre(i);
    if (!c) continue;
    const along = (c[0] - c0[0]) * dir[0] + (c[1] - c0[1]) * dir[1];
    const across = Math.abs((c[0] - c0[0]) * dir[1] - (c[1] - c0[1]) * dir[0]);
    if (along < 0.5) continue;   // not in that direction (at least half a pixel on)
    const score = along + 2 * across;   // the cell beside beats a nearer one diagonally off
    if (score < bestScore) { bestScore = score; best = [idx, i]; }
  }
  return best;
}
