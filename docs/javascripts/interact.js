// A live figure: paints a display list and keeps it live (resize, theme, hover read-out,
// draggable handles, clickable rects, synchronised marker). The drawing itself is in
// draw-figure.js; this module owns the canvas, its events and the interactive state.

import { cssWidth, fitLayout, sizeCanvas } from "./sizing.js";
import { col, readTheme } from "./colors.js";
import { HANDLE_RADIUS } from "./generated.js";
import { drawGrid, drawOverlay, drawPlotItems, drawStatic, handlePos, keyedPrefix } from "./draw-figure.js";
import { formatNumber } from "./format.js";
import { handleNear, isMonotonic, nearest, rectUnder, tidy, walkLine } from "./pick.js";
import { Tooltip } from "./tooltip.js";

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
  const tooltip = new Tooltip(host, canvas);

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

  // At least 12 CSS px of reach around a handle, for fingers.
  const handleAt = (fx, fy) => handleNear(fig, g, state, fx, fy, Math.max(HANDLE_RADIUS + 3, 12 / pxPerFig()));
  const rectAt = (fx, fy) => rectUnder(fig, g, fx, fy);

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
    showTooltip(g.px(x), g.py(y), [[null, `${px} = ${formatNumber(x)}`], [null, `${py} = ${formatNumber(y)}`]]);
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
    const lines = [[null, `${names(first)[0]} = ${formatNumber(first.x)}`]];
    for (const h of hits) {
      const extra = h.x !== first.x ? ` (${names(h)[0]} = ${formatNumber(h.x)})` : "";
      lines.push([col(theme, items[h.item].color, "s0"), `${names(h)[1]} = ${formatNumber(h.y)}${extra}`]);
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

  // The read-out next to figure point (fx, fy): right of it unless that leaves the canvas, and
  // above it unless that would cover the title and legend.
  const showTooltip = (fx, fy, lines) => tooltip.show(fx * pxPerFig(), fy * pxPerFig(), lines, g.top * pxPerFig(), cssW);
  const hideTooltip = () => tooltip.hide();

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
    const from = state.hover ? state.hover.hits[0].index : null;
    const jump = ev.shiftKey ? Math.max(1, Math.round(((fig.items[lineIdx].x || []).length) / 10)) : 1;
    const walked = walkLine(fig, g, mono, lineIdx, from, d[0] * jump);
    if (walked) setHover(walked.hits, walked.fx, walked.fy);
  }

  const onBlur = () => { if (!state.drag) clearHover(); };

  const listeners = [["pointerdown", onPointerDown], ["pointermove", onPointerMove], ["pointerup", endDrag],
    ["pointercancel", endDrag], ["pointerleave", onPointerLeave], ["keydown", onKeyDown], ["blur", onBlur]];
  for (const [type, fn] of listeners) canvas.addEventListener(type, fn);

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
      for (const [type, fn] of listeners) canvas.removeEventListener(type, fn);
      tooltip.remove();
    },
  };
}

