// Colours: the theme read from CSS variables, colour-name lookup, and colour-mapped rasters.
//
// The names, the fallback (light) colours and the colour maps are generated from Python
// (generated.js), so the canvas and the build-time SVG cannot disagree on them.

import { CMAPS, COLOR_NAMES, FALLBACK_COLORS, FALLBACK_OPACITY } from "./generated.js";

/** Theme colours from the CSS variables on `el` (figures.css), with light-theme fallbacks. */
export function readTheme(el) {
  const cs = getComputedStyle(el);
  const v = (name, dflt) => cs.getPropertyValue(`--gc-${name}`).trim() || dflt;
  const colors = {};
  for (const n of COLOR_NAMES) colors[n] = v(n, FALLBACK_COLORS[n]);
  colors.bg = v("bg", FALLBACK_COLORS.bg);
  return {
    colors,
    rasterOpacity: parseFloat(v("raster-opacity", String(FALLBACK_OPACITY.raster))),
    gridOpacity: parseFloat(v("gridline-opacity", String(FALLBACK_OPACITY.grid))),
    font: cs.fontFamily || "sans-serif",
  };
}

export const col = (theme, name, dflt) => theme.colors[COLOR_NAMES.includes(name) ? name : dflt];

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
