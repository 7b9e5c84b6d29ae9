// What the pointer and the keyboard mean to a live figure: dragging a handle (or moving it
// with the arrow keys), clicking a rect that sets parameters (or picking it with the arrow keys
// and Enter), the cursor's shape, and where the hover read-out goes. The figure (interact.js) owns the canvas, the drawing and the
// read-out; this module only turns events into calls on it.

import { HANDLE_RADIUS } from "./generated.js";
import { handlePos } from "./draw-figure.js";
import { formatNumber } from "./format.js";
import { rectPx } from "./draw-items.js";
import { handleNear, rectStep, rectUnder, tidy, walkLine } from "./pick.js";

// Arrow key -> direction in the view (up is +y, as on the axes).
const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };

export class FigureInput {
  /** Listen on `live.canvas`; `onParam(partial)` as in `mountFigure`. */
  constructor(live, onParam) {
    this.live = live;
    this.onParam = onParam;
    this.pending = null;   // parameters moved since the last animation frame
    this.raf = 0;
    this.keyRect = null;   // the rect the arrow keys last picked: where the next step starts
    this.listeners = [
      ["pointerdown", (ev) => this.pointerDown(ev)], ["pointermove", (ev) => this.pointerMove(ev)],
      ["pointerup", (ev) => this.endDrag(ev)], ["pointercancel", (ev) => this.endDrag(ev)],
      ["pointerleave", () => this.pointerLeave()], ["keydown", (ev) => this.keyDown(ev)],
      ["blur", () => { if (!live.state.drag) { live.state.activeRect = null; live.clearHover(); } }],
    ];
    for (const [type, fn] of this.listeners) live.canvas.addEventListener(type, fn);
  }

  destroy() {
    if (this.raf) cancelAnimationFrame(this.raf);
    for (const [type, fn] of this.listeners) this.live.canvas.removeEventListener(type, fn);
  }

  // ---- geometry, in figure px ----

  point(ev) {
    const { canvas, g } = this.live;
    const r = canvas.getBoundingClientRect();
    return [((ev.clientX - r.left) * g.width) / r.width, ((ev.clientY - r.top) * g.height) / r.height];
  }

  inPlot(fx, fy) {
    const g = this.live.g;
    return fx >= g.left && fx <= g.left + g.pw && fy >= g.top && fy <= g.top + g.ph;
  }

  // At least 12 CSS px of reach around a handle, for fingers.
  handleAt(fx, fy) {
    const { fig, g, state } = this.live;
    return handleNear(fig, g, state, fx, fy, Math.max(HANDLE_RADIUS + 3, 12 / this.live.pxPerFig()));
  }

  rectAt(fx, fy) {
    return rectUnder(this.live.fig, this.live.g, fx, fy);
  }

  firstHandle() {
    return (this.live.fig.items || []).findIndex((it) => it.t === "handle");
  }

  // ---- handles ----

  // Move handle `idx` to data (x, y), clamped to the view and tidied to a readable value.
  // The page hears of it at most once per animation frame: a drag fires many pointer events
  // per frame and each would start a run.
  moveHandle(idx, x, y) {
    const live = this.live, g = live.g;
    const [x0, x1] = g.xRange, [y0, y1] = g.yRange;
    x = tidy(Math.min(Math.max(x, x0), x1), x0, x1, g.xLog);
    y = tidy(Math.min(Math.max(y, y0), y1), y0, y1, g.yLog);
    live.state.handles.set(idx, [x, y]);
    const [px, py] = live.fig.items[idx].params || ["x", "y"];
    this.pending = { ...(this.pending || {}), [px]: x, [py]: y };
    if (!this.raf) {
      this.raf = requestAnimationFrame(() => {
        this.raf = 0;
        const p = this.pending;
        this.pending = null;
        if (p && !live.destroyed) this.onParam(p);
      });
    }
    live.showTooltip(g.px(x), g.py(y), [[null, `${px} = ${formatNumber(x)}`], [null, `${py} = ${formatNumber(y)}`]]);
    live.blit();
  }

  // ---- events ----

  pointerDown(ev) {
    const live = this.live, g = live.g;
    if (!g || ev.button > 0) return;
    const [fx, fy] = this.point(ev);
    let idx = this.handleAt(fx, fy);
    const rect = idx < 0 ? this.rectAt(fx, fy) : null;
    if (rect) {
      const [i, j] = rect;
      this.onParam({ ...live.fig.items[i].set[j] });
      return;
    }
    if (idx < 0 && this.inPlot(fx, fy)) idx = this.firstHandle();   // click anywhere: the handle jumps there
    if (idx < 0) return;
    ev.preventDefault();
    try { live.canvas.setPointerCapture(ev.pointerId); } catch { /* a synthetic or finished pointer */ }
    live.state.drag = { idx, id: ev.pointerId };
    live.canvas.style.cursor = "grabbing";
    this.moveHandle(idx, g.dx(fx), g.dy(fy));
  }

  pointerMove(ev) {
    const live = this.live, g = live.g, state = live.state;
    if (!g) return;
    const [fx, fy] = this.point(ev);
    if (state.drag && ev.pointerId === state.drag.id) {
      this.moveHandle(state.drag.idx, g.dx(fx), g.dy(fy));
      return;
    }
    const rect = this.rectAt(fx, fy);
    const onHandle = this.handleAt(fx, fy) >= 0;
    live.canvas.style.cursor = onHandle ? "grab" : rect ? "pointer"
      : this.firstHandle() >= 0 && this.inPlot(fx, fy) ? "crosshair" : "";
    const prevRect = state.activeRect;
    state.activeRect = rect;
    if (this.inPlot(fx, fy) && live.mono.size) live.hoverAt(fx, fy);
    else if (state.hover) live.clearHover();
    else if (String(prevRect) !== String(rect)) live.blit();   // the rect highlight moved
  }

  endDrag(ev) {
    const live = this.live, state = live.state;
    if (!state.drag || (ev && ev.pointerId !== state.drag.id)) return;
    state.drag = null;
    live.canvas.style.cursor = "";
    live.hideTooltip();
    live.blit();
  }

  pointerLeave() {
    const live = this.live;
    if (live.state.drag) return;   // the pointer is captured: the drag goes on outside
    live.state.activeRect = null;
    live.canvas.style.cursor = "";
    live.clearHover();
  }

  keyDown(ev) {
    const live = this.live, g = live.g;
    if (!g) return;
    if (ev.key === "Escape") { live.state.activeRect = null; live.clearHover(); return; }
    if ((ev.key === "Enter" || ev.key === " ") && live.state.activeRect) {
      ev.preventDefault();   // a click on the picked rect; Space must not scroll the page
      const [i, j] = live.state.activeRect;
      this.onParam({ ...live.fig.items[i].set[j] });
      return;
    }
    const d = ARROWS[ev.key];
    if (!d) return;
    const step = ev.shiftKey ? 0.1 : 0.01;   // of the view; Shift for bigger steps
    const idx = this.firstHandle();
    if (idx >= 0) {
      ev.preventDefault();
      const [hx, hy] = handlePos(live.fig, live.state, idx);
      // Move in figure px, so 1% of the view on linear and log axes alike.
      this.moveHandle(idx, g.dx(g.px(hx) + d[0] * step * g.pw), g.dy(g.py(hy) - d[1] * step * g.ph));
      return;
    }
    if (live.fig.items.some((it) => it.t === "rects" && it.set)) { ev.preventDefault(); this.stepRect(d); return; }
    if (d[0]) this.walk(ev, d[0]);
  }

  // Arrow keys on clickable rects: pick the next one that way, outline it and read out what a
  // click on it would set. A new figure (after Enter) keeps the place the keys had reached.
  stepRect(d) {
    const live = this.live, g = live.g, state = live.state;
    const from = state.activeRect || this.keyRect;
    const next = from ? rectStep(live.fig, g, from, [d[0], -d[1]]) : rectStep(live.fig, g, null, d);
    const r = next && rectPx(live.fig.items[next[0]], next[1], g);
    if (!r) return;
    state.activeRect = this.keyRect = next;
    const set = live.fig.items[next[0]].set[next[1]];
    live.showTooltip((r[0] + r[2]) / 2, (r[1] + r[3]) / 2,
      Object.entries(set).map(([k, v]) => [null, `${k} = ${typeof v === "number" ? formatNumber(v) : v}`]));
    live.blit();
  }

  // No handle: Left/Right walk the hover read-out along the first hover line (Shift: a
  // tenth of its points at a time).
  walk(ev, dir) {
    const live = this.live, fig = live.fig, state = live.state;
    const lineIdx = [...live.mono.keys()][0];
    if (lineIdx === undefined) return;
    ev.preventDefault();
    const from = state.hover ? state.hover.hits[0].index : null;
    const jump = ev.shiftKey ? Math.max(1, Math.round(((fig.items[lineIdx].x || []).length) / 10)) : 1;
    const walked = walkLine(fig, live.g, live.mono, lineIdx, from, dir * jump);
    if (walked) live.setHover(walked.hits, walked.fx, walked.fy);
  }
}
