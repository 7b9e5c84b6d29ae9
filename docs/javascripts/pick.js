// Pointer geometry for interaction: the nearest point of a line, and tidy dragged values.

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
