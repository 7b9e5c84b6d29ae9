// paint.js: draws a display list (gradclip/figures.py, `Figure.to_dict()`) on a <canvas>.
//
// The public face of the figure modules, which each do one job:
//   generated.js    constants and colour maps, written from Python at build time
//   format.js       tick labels and the number-for-people format (Python's twins)
//   axes.js         ticks and layout (the SVG writer's twins)
//   colors.js       theme colours and colour-mapped rasters
//   draw-items.js   one display-list item;   draw-figure.js   the static and interactive layers
//   sizing.js       canvas width, HiDPI, narrow-screen layout;   pick.js   pointer geometry
//   interact.js     mountFigure: a live figure with its events
//
// Everything is drawn in *figure pixels* (the SVG viewBox) and scaled uniformly to the
// container's width times devicePixelRatio, so the live canvas replaces the static picture
// without a jump.
//
//   paint(canvas, fig, state)            one-off drawing, no interaction
//   mountFigure(canvas, fig, {onParam, onHover}) -> {update(fig), setMarker(i), destroy()}

import { fitLayout, sizeCanvas } from "./sizing.js";
import { readTheme } from "./colors.js";
import { drawOverlay, drawStatic } from "./draw-figure.js";

export { CMAPS, COLOR_NAMES } from "./generated.js";
export { ticks, layout, textWidth } from "./axes.js";
export { formatNumber } from "./format.js";
export { rasterRGBA } from "./colors.js";
export { keyedPrefix } from "./draw-figure.js";
export { mountFigure } from "./interact.js";

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
