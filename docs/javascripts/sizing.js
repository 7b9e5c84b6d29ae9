// Sizing a canvas: how wide it is, the layout for that width (a phone lays the figure out
// again rather than shrinking its text), and a HiDPI backing store.

import { layout } from "./axes.js";

/** CSS width available to the canvas: its own box when shown, else its container's. */
export function cssWidth(canvas) {
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
export function fitLayout(canvas, fig, width = cssWidth(canvas)) {
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

export function sizeCanvas(canvas, g, width = cssWidth(canvas)) {
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
