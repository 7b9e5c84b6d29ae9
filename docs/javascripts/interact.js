// A live figure: paints a display list and keeps it live (resize, theme, hover read-out,
// draggable handles, clickable rects, synchronised marker). The drawing itself is in
// draw-figure.js and what pointer and keys mean in figure-input.js; this module owns the
// canvas, its layers, the read-out and the interactive state.

import { cssWidth, fitLayout, sizeCanvas } from "./sizing.js";
import { col, readTheme } from "./colors.js";
import { drawGrid, drawOverlay, drawPlotItems, drawStatic, keyedPrefix } from "./draw-figure.js";
import { formatNumber } from "./format.js";
import { isMonotonic, nearest } from "./pick.js";
import { Tooltip } from "./tooltip.js";
import { FigureInput } from "./figure-input.js";

/**
 * Paint `fig` on `canvas` and keep it live: resize with the container, follow the theme,
 * hover read-out, draggable handles, clickable rects, synchronised marker.
 *
 * onParam(partial): a handle moved ({px: x, py: y}, at most once per animation frame) or a
 * rect with `set` was clicked (set[i]). onHover(info | null): {index, x, y, item} of the
 * first hover line, so a page can synchronise other figures.
 */
export function mountFigure(canvas, fig, { onParam = () => {}, onHover = () => {} } = {}) {
  const live = new LiveFigure(canvas, fig, onParam, onHover);
  // A plain object, not the LiveFigure: pages see only these four members.
  return {
    /** Replace the figure (a recomputed display list); keeps marker, hover position and a drag. */
    update(next) { live.update(next); },
    /** Put the synchronised marker at point i of every line with `marker: true` (null hides it). */
    setMarker(i) { live.setMarker(i); },
    /** The layout in use (figure px, ticks, data<->px maps); for tests and page scripts. */
    get layout() { return live.g; },
    destroy() { live.destroy(); },
  };
}

class LiveFigure {
  constructor(canvas, fig, onParam, onHover) {
    this.canvas = canvas;
    this.host = canvas.parentElement;
    this.ctx = canvas.getContext("2d");
    this.fig = fig;
    this.onHover = onHover;
    // What drawOverlay draws over the static layer.
    this.state = { marker: null, hover: null, handles: new Map(), drag: null, activeRect: null };
    this.rasters = new WeakMap();
    this.staticLayer = document.createElement("canvas");
    // The grid and the leading keyed items (a landscape's shading and contour lines, a phase
    // map's cells) as a bitmap of their own, kept while the keys, the size, the layout and the
    // theme stay: a new run redraws only its trajectory, not thousands of contour points.
    this.backdrop = { sig: "", canvas: null };
    this.g = null;          // layout; null until the first paint
    this.theme = null;
    this.k = 1;             // backing-store px per figure px
    this.cssW = 0;
    this.dpr = 0;
    this.mono = new Map();  // hover line index -> is its x monotonic
    this.destroyed = false;
    this.tooltip = new Tooltip(this.host, canvas);
    this.input = new FigureInput(this, onParam);
    this.observe();
    this.setupFigure();
    this.full();
    canvas.hidden = false;
    if (this.host && this.host.classList.contains("gc-figure")) this.host.classList.add("gc-live");
    // The canvas may only now have a box of its own (it was hidden): size it to that box.
    if (Math.abs(cssWidth(canvas) - this.cssW) > 0.5) this.full();
  }

  observe() {
    // Repaint when the container's width or the pixel ratio changes (not on our own height change).
    this.ro = new ResizeObserver(() => {
      const w = cssWidth(this.canvas);
      if (Math.abs(w - this.cssW) > 0.5 || (window.devicePixelRatio || 1) !== this.dpr) this.full();
    });
    this.ro.observe(this.host || this.canvas);
    // Material switches palettes by setting data-md-color-scheme on <body>.
    this.mo = new MutationObserver(() => this.full());
    this.mo.observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });
  }

  // The per-figure facts events need: which lines have a hover read-out (and whether their
  // x is monotonic), whether the canvas takes focus, its accessible name.
  setupFigure() {
    const items = this.fig.items || [], canvas = this.canvas;
    this.mono = new Map();
    items.forEach((it, i) => { if (it.t === "line" && it.hover) this.mono.set(i, isMonotonic(it.x || [])); });
    const interactive = items.some((it) => it.t === "handle" || (it.t === "line" && it.hover) || (it.t === "rects" && it.set));
    canvas.tabIndex = interactive ? 0 : -1;
    if (this.fig.alt) canvas.setAttribute("aria-label", this.fig.alt);
    if (!canvas.hasAttribute("role")) canvas.setAttribute("role", "img");
  }

  // ---- painting ----

  // Lay out, size and redraw the static layer, then blit. known: the canvas's width and the
  // theme have not changed since the last call (a new output of the same demo: the observers
  // repaint on either change), so neither is measured again; measuring forces the page's
  // layout and style to be recomputed at once, after the results panel just changed.
  full(known = false) {
    if (this.destroyed) return;
    const canvas = this.canvas, layer = this.staticLayer;
    const w = known && this.g ? this.cssW : cssWidth(canvas);
    this.g = fitLayout(canvas, this.fig, w);
    if (!known || !this.theme) this.theme = readTheme(canvas);
    ({ k: this.k, cssW: this.cssW, dpr: this.dpr } = sizeCanvas(canvas, this.g, w));
    layer.width = canvas.width;
    layer.height = canvas.height;
    const sctx = layer.getContext("2d");
    sctx.setTransform(1, 0, 0, 1, 0, 0);
    sctx.clearRect(0, 0, layer.width, layer.height);
    sctx.setTransform(this.k, 0, 0, this.k, 0, 0);
    const skip = this.drawBackdrop(sctx);
    drawStatic(sctx, this.fig, this.g, this.theme, this.rasters, skip);
    this.blit();
  }

  // Draw the kept backdrop on the static layer (redrawing it first if anything it depends on
  // changed); returns how many items it holds (0: no keyed layers, nothing drawn).
  drawBackdrop(sctx) {
    const items = this.fig.items || [], bd = this.backdrop;
    const { canvas, g, k, theme } = this;
    const n = keyedPrefix(items);
    if (!n) { bd.sig = ""; bd.canvas = null; return 0; }
    const sig = JSON.stringify([items.slice(0, n).map((it) => it.key), canvas.width, canvas.height, k,
      g.left, g.top, g.pw, g.ph, g.xRange, g.yRange, g.xLog, g.yLog, g.xTicks.values, g.yTicks.values, theme]);
    if (sig !== bd.sig || !bd.canvas) {
      const c = bd.canvas || document.createElement("canvas");
      c.width = canvas.width;     // (also clears it and resets its context)
      c.height = canvas.height;
      const bctx = c.getContext("2d");
      bctx.setTransform(k, 0, 0, k, 0, 0);
      drawGrid(bctx, g, theme);
      drawPlotItems(bctx, items, 0, n, g, theme, this.rasters);
      bd.canvas = c;
      bd.sig = sig;
    }
    sctx.save();
    sctx.setTransform(1, 0, 0, 1, 0, 0);
    sctx.drawImage(bd.canvas, 0, 0);
    sctx.restore();
    return n;
  }

  // Cheap redraw: the cached static bitmap plus the interactive layer.
  blit() {
    if (this.destroyed || !this.g) return;
    const ctx = this.ctx, canvas = this.canvas;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(this.staticLayer, 0, 0);
    ctx.setTransform(this.k, 0, 0, this.k, 0, 0);
    drawOverlay(ctx, this.fig, this.g, this.theme, this.state);
  }

  // ---- hover read-out ----

  /** CSS px per figure px. */
  pxPerFig() {
    return this.cssW > 0 ? this.cssW / this.g.width : 1;
  }

  // The read-out next to figure point (fx, fy): right of it unless that leaves the canvas, and
  // above it unless that would cover the title and legend.
  showTooltip(fx, fy, lines) {
    const s = this.pxPerFig();
    this.tooltip.show(fx * s, fy * s, lines, this.g.top * s, this.cssW);
  }

  hideTooltip() {
    this.tooltip.hide();
  }

  // Read out the nearest point of every hover line to figure point (fx, fy).
  hoverAt(fx, fy) {
    const hits = [];
    (this.fig.items || []).forEach((it, idx) => {
      if (it.t !== "line" || !it.hover) return;
      const j = nearest(it, this.g, fx, fy, this.mono.get(idx));
      if (j >= 0) hits.push({ item: idx, index: j, x: it.x[j], y: it.y[j] });
    });
    this.setHover(hits, fx, fy);
  }

  // Show `hits` ([{item, index, x, y}], the first one leading) and tell the page; (fx, fy) is
  // the pointer, kept so an update can read out the new figure at the same place.
  setHover(hits, fx, fy) {
    if (!hits.length) { this.clearHover(); return; }
    const items = this.fig.items, g = this.g, first = hits[0];
    const names = (h) => items[h.item].hover_names || ["x", "y"];
    const lines = [[null, `${names(first)[0]} = ${formatNumber(first.x)}`]];
    for (const h of hits) {
      const extra = h.x !== first.x ? ` (${names(h)[0]} = ${formatNumber(h.x)})` : "";
      lines.push([col(this.theme, items[h.item].color, "s0"), `${names(h)[1]} = ${formatNumber(h.y)}${extra}`]);
    }
    // A vertical guide only makes sense where x is a function argument (a curve, not a path).
    const guide = this.mono.get(first.item) ? g.px(first.x) : null;
    this.state.hover = { guide, fx: fx ?? g.px(first.x), fy: fy ?? g.py(first.y), hits };
    this.showTooltip(g.px(first.x), g.py(first.y), lines);
    this.blit();
    this.onHover({ index: first.index, x: first.x, y: first.y, item: first.item });
  }

  clearHover() {
    const had = this.state.hover !== null;
    this.state.hover = null;
    this.hideTooltip();
    this.blit();
    if (had) this.onHover(null);
  }

  // ---- the controller's methods (see mountFigure) ----

  update(next) {
    const state = this.state;
    this.fig = next;
    if (!state.drag) state.handles.clear();
    state.activeRect = null;
    this.setupFigure();
    const at = state.hover ? [state.hover.fx, state.hover.fy] : null;
    state.hover = null;
    this.full(true);
    if (at && this.g) this.hoverAt(at[0], at[1]);
  }

  setMarker(i) {
    const m = i === null || i === undefined ? null : Math.trunc(i);
    if (m === this.state.marker) return;   // every other change repaints itself: already shown
    this.state.marker = m;
    this.blit();
  }

  destroy() {
    this.destroyed = true;
    this.ro.disconnect();
    this.mo.disconnect();
    this.input.destroy();
    this.tooltip.remove();
  }
}
