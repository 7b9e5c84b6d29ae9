// Drawing a whole figure: grid, frame, tick labels, axis labels, title and legend (the static
// layer), and the interactive layer on top (handles, synchronised marker, hover, active rect).

import { HANDLE_DOT_RADIUS, HANDLE_RADIUS, LABEL_FONT, LEGEND_GAP, LEGEND_SWATCH, PAD, TICK_FONT, TICK_LENGTH,
  TITLE_FONT } from "./generated.js";
import { col } from "./colors.js";
import { drawItem, drawMarker, fontOf, markerPath, rectPx } from "./draw-items.js";

export function drawGrid(ctx, g, theme) {
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
export function drawPlotItems(ctx, items, from, to, g, theme, rasters) {
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
export function drawStatic(ctx, fig, g, theme, rasters, skip = 0) {
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
  for (const v of g.xTicks.values) { const x = g.px(v); ctx.moveTo(x, B); ctx.lineTo(x, B + TICK_LENGTH); }
  for (const v of g.yTicks.values) { const y = g.py(v); ctx.moveTo(L, y); ctx.lineTo(L - TICK_LENGTH, y); }
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
      ctx.beginPath(); ctx.moveTo(e.x, e.y); ctx.lineTo(e.x + LEGEND_SWATCH, e.y);
      ctx.strokeStyle = col(theme, e.color, "s0"); ctx.lineWidth = 2; ctx.setLineDash(e.dash || []); ctx.stroke();
      ctx.setLineDash([]);
    } else if (e.kind === "points") {
      ctx.beginPath(); markerPath(ctx, "circle", e.x + LEGEND_SWATCH / 2, e.y, 3);
      ctx.fillStyle = col(theme, e.color, "s0"); ctx.fill();
    } else drawMarker(ctx, theme, e.shape, e.x + LEGEND_SWATCH / 2, e.y, 4.5, col(theme, e.color, "fg"));
    ctx.fillStyle = theme.colors.fg;
    ctx.fillText(e.label, e.x + LEGEND_SWATCH + LEGEND_GAP, e.y + 4);
  }
}

// ------------------------------------------------------------------------------------------
// The interactive layer: handles, synchronised marker, hover feedback, highlighted rect
// ------------------------------------------------------------------------------------------

export function handlePos(fig, state, idx) {
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

export function drawOverlay(ctx, fig, g, theme, state) {
  const items = fig.items || [];
  ctx.save();
  ctx.beginPath(); ctx.rect(g.left - HANDLE_RADIUS, g.top - HANDLE_RADIUS, g.pw + 2 * HANDLE_RADIUS, g.ph + 2 * HANDLE_RADIUS); ctx.clip();
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
    ctx.beginPath(); ctx.arc(x, y, active ? HANDLE_RADIUS + 1.5 : HANDLE_RADIUS, 0, 2 * Math.PI);
    ctx.fillStyle = col(theme, it.color, "start"); ctx.fill();
    ctx.strokeStyle = theme.colors.bg; ctx.lineWidth = 1.5; ctx.setLineDash([]); ctx.stroke();
    ctx.beginPath(); ctx.arc(x, y, HANDLE_DOT_RADIUS, 0, 2 * Math.PI); ctx.fillStyle = theme.colors.bg; ctx.fill();
  });
  ctx.restore();
}
